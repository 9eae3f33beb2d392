package io.github.sgm4j.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.config.Instantiator;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Builds modules from the reference configs without allocating weights and compares key listings. */
public final class KeyListings {

    private KeyListings() {}

    /** The node at a dotted path of a reference config. */
    public static ConfigNode node(String configFile, String dottedPath) {
        ConfigNode n = ConfigNode.load(Path.of("src/test/resources/reference-configs").resolve(configFile));
        for (String part : dottedPath.split("\\.")) {
            n = n.getNode(part);
        }
        return n;
    }

    /** Builds a module from a config node (nothing is allocated). */
    public static <M extends Module> M build(ConfigNode node, Class<M> type) {
        return new Instantiator().instantiate(node, type);
    }

    /** The reference listing lines of {@code src/test/resources/keys/<file>}. */
    public static List<String> reference(String file) {
        try {
            return Files.readAllLines(Path.of("src/test/resources/keys").resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Our listing with a key prefix. */
    public static List<String> listing(Module m, String prefix) {
        List<String> out = new ArrayList<>();
        for (TensorSpec s : m.stateDictSpec()) {
            out.add(prefix + s.toListingLine());
        }
        return out;
    }

    /** Asserts equal listings (same keys, shapes and dtypes, same order), reporting the differences. */
    public static void assertSameListing(List<String> expected, List<String> actual, String what) {
        if (expected.equals(actual)) {
            return;
        }
        Set<String> e = new LinkedHashSet<>(expected);
        Set<String> a = new LinkedHashSet<>(actual);
        List<String> missing = expected.stream().filter(x -> !a.contains(x)).limit(15).toList();
        List<String> extra = actual.stream().filter(x -> !e.contains(x)).limit(15).toList();
        assertEquals(expected.size() + " entries, missing " + missing + ", unexpected " + extra + (missing.isEmpty() && extra.isEmpty() ? " (order differs)" : ""),
                actual.size() + " entries", what);
        assertEquals(expected, actual, what + ": order");
    }
}
