package io.github.sgm4j.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every original sgm/ldm YAML parses with interpolations resolved; every target in them is known to
 * {@link Targets}. Prints the targets this build cannot build yet (the list shrinks as modules land).
 */
class ReferenceConfigsTest {

    static final Path ROOT = Path.of("src/test/resources/reference-configs");

    /** Targets of other projects' training infrastructure that sgm4j deliberately does not map. */
    static final List<String> NOT_MAPPED_PREFIXES = List.of(
            "main.", "pytorch_lightning.", "sdata.", "torchvision.", "taming.", "ldm.data.");

    static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> s = Files.walk(ROOT)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    static void collectTargets(Object v, String path, Map<String, String> out) {
        if (v instanceof Map<?, ?> m) {
            Object t = m.get("target");
            if (t instanceof String s) {
                out.putIfAbsent(s, path);
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                collectTargets(e.getValue(), path.isEmpty() ? e.getKey().toString() : path + "." + e.getKey(), out);
            }
        } else if (v instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                collectTargets(l.get(i), path + "." + i, out);
            }
        }
    }

    @Test
    void everyReferenceConfigParsesAndEveryTargetIsKnown() throws IOException {
        List<Path> files = yamlFiles();
        assertTrue(files.size() >= 30, "reference configs present: " + files.size());
        Map<String, String> unavailable = new TreeMap<>();
        List<String> unknown = new ArrayList<>();
        TreeSet<String> all = new TreeSet<>();
        for (Path f : files) {
            ConfigNode n = ConfigNode.load(f);
            Map<String, String> targets = new TreeMap<>();
            collectTargets(n.asMap(), "", targets);
            for (Map.Entry<String, String> e : targets.entrySet()) {
                String t = e.getKey();
                all.add(t);
                if (NOT_MAPPED_PREFIXES.stream().anyMatch(t::startsWith)) {
                    continue;
                }
                if (!Targets.isKnown(t)) {
                    unknown.add(t + " (" + ROOT.relativize(f) + ": " + e.getValue() + ")");
                } else if (!Targets.isAvailable(t)) {
                    unavailable.putIfAbsent(t, ROOT.relativize(f).toString());
                }
            }
        }
        System.out.printf("[configs] %d files, %d distinct targets; not yet buildable in this build (%d):%n",
                files.size(), all.size(), unavailable.size());
        unavailable.forEach((t, f) -> System.out.printf("[configs]   %-70s e.g. %s%n", t, f));
        assertTrue(unknown.isEmpty(), "targets missing from the Targets table: " + unknown);
    }
}
