package io.github.sgm4j.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.engine.Tensors;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code io.github.sgm4j.eval} is a leaf of sgm4j-core: it uses nn, engine, io, noise, optim,
 * train.data and models, and nothing in sgm4j-core uses it (only the command-line tool does).
 */
class EvalOnTopTest {

    static final String EVAL = "io.github.sgm4j.eval";

    @Test
    void nothingInCoreDependsOnEval() throws Exception {
        Path classes = Path.of(Tensors.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Map<String, Set<String>> graph = PackageCyclesTest.packageGraph(classes);
        assertTrue(graph.containsKey(EVAL), "jdeps did not see " + EVAL);
        List<String> users = graph.entrySet().stream().filter(e -> e.getValue().contains(EVAL)).map(Map.Entry::getKey)
                .collect(Collectors.toList());
        assertTrue(users.isEmpty(), "packages depending on " + EVAL + ": " + users);
        Set<String> allowed = Set.of("io.github.sgm4j.nn", "io.github.sgm4j.engine", "io.github.sgm4j.io",
                "io.github.sgm4j.noise", "io.github.sgm4j.optim", "io.github.sgm4j.train.data", "io.github.sgm4j.models");
        Set<String> used = graph.get(EVAL);
        assertTrue(allowed.containsAll(used), EVAL + " uses " + used + ", allowed: " + allowed);
    }
}
