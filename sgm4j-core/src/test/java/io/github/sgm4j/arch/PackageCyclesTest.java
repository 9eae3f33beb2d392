package io.github.sgm4j.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgm4j.engine.Tensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The package graph of sgm4j-core's compiled classes ({@code jdeps}) has no cycle: every package
 * depends only on packages "below" it (engine, io, nn, noise, config at the bottom; models, ldm,
 * train at the top).
 */
class PackageCyclesTest {

    private static final Pattern EDGE = Pattern.compile("^\\s*(io\\.github\\.sgm4j[\\w.]*)\\s+->\\s+(io\\.github\\.sgm4j[\\w.]*)\\s");

    @Test
    void noPackageCycles() throws Exception {
        Path classes = Path.of(Tensors.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Map<String, Set<String>> graph = packageGraph(classes);
        assertTrue(graph.size() > 20, "jdeps saw only " + graph.size() + " packages in " + classes);
        List<List<String>> cycles = cycles(graph);
        assertTrue(cycles.isEmpty(), "package cycles in sgm4j-core: " + cycles + "\n" + describe(graph, cycles));
    }

    @Test
    void detectorFindsACycle() {
        Map<String, Set<String>> g = new TreeMap<>();
        g.put("a", new TreeSet<>(List.of("b")));
        g.put("b", new TreeSet<>(List.of("c")));
        g.put("c", new TreeSet<>(List.of("a", "d")));
        g.put("d", new TreeSet<>());
        assertEquals(List.of(List.of("a", "b", "c")), cycles(g));
        g.get("c").remove("a");
        assertEquals(List.of(), cycles(g));
    }

    /** {@code jdeps -verbose:package} edges between sgm4j packages (self edges dropped). */
    static Map<String, Set<String>> packageGraph(Path classes) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-filter:none",
                "-e", "io\\.github\\.sgm4j.*", classes.toString());
        assertEquals(0, rc, "jdeps failed: " + err);
        Map<String, Set<String>> g = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = EDGE.matcher(line);
            if (m.find()) {
                g.computeIfAbsent(m.group(1), k -> new TreeSet<>());
                g.computeIfAbsent(m.group(2), k -> new TreeSet<>());
                if (!m.group(1).equals(m.group(2))) {
                    g.get(m.group(1)).add(m.group(2));
                }
            }
        }
        return g;
    }

    /** The strongly connected components with more than one package (Tarjan), each sorted. */
    static List<List<String>> cycles(Map<String, Set<String>> g) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : g.keySet()) {
            if (!index.containsKey(v)) {
                strongConnect(v, g, index, low, stack, onStack, out, counter);
            }
        }
        return out;
    }

    private static void strongConnect(String v, Map<String, Set<String>> g, Map<String, Integer> index,
            Map<String, Integer> low, Deque<String> stack, Set<String> onStack, List<List<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]);
        counter[0]++;
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                strongConnect(w, g, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> comp = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                comp.add(w);
            } while (!w.equals(v));
            if (comp.size() > 1) {
                comp.sort(null);
                out.add(comp);
            }
        }
    }

    private static String describe(Map<String, Set<String>> g, List<List<String>> cycles) {
        StringBuilder sb = new StringBuilder();
        for (List<String> c : cycles) {
            for (String a : c) {
                for (String b : g.get(a)) {
                    if (c.contains(b)) {
                        sb.append("  ").append(a).append(" -> ").append(b).append('\n');
                    }
                }
            }
        }
        return sb.toString();
    }
}
