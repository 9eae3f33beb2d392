package io.github.sgm4j.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Finds calls of DJL overloads that wrap Java data in an array borrowing a Java buffer ({@code
 * NDArray.mul(Number)}, {@code NDManager.create(float[])}, ...) in compiled classes, by reading
 * {@code javap -c -p -l -v} output (instructions and method handles of the constant pool).
 */
final class BorrowingCallScanner {

    /** One call of a borrowing overload. */
    record Hit(String className, String method, int line, String target) {
        @Override
        public String toString() {
            return className + "." + method + (line > 0 ? " (line " + line + ")" : "") + " -> " + target;
        }
    }

    private static final Set<String> ARRAY_OWNERS = Set.of(
            "ai/djl/ndarray/NDArray",
            "ai/djl/ndarray/NDArrayAdapter",
            "ai/djl/ndarray/NDArrays",
            "ai/djl/ndarray/internal/NDArrayEx",
            "ai/djl/pytorch/engine/PtNDArray",
            "ai/djl/pytorch/engine/PtNDArrayEx");
    private static final Set<String> MANAGER_OWNERS = Set.of(
            "ai/djl/ndarray/NDManager",
            "ai/djl/ndarray/BaseNDManager",
            "ai/djl/pytorch/engine/PtNDManager");
    /** Array methods without a Number parameter that wrap a Java number internally. */
    private static final Set<String> INTERNALLY_BORROWING = Set.of("cbrt", "scaleGradient");

    private static final Pattern CLASSFILE = Pattern.compile("^Classfile (.+\\.class)$");
    private static final Pattern METHOD = Pattern.compile("^  (?![#/])\\S.*\\)( throws [^;]+)?;$|^  static \\{\\};$");
    private static final Pattern INVOKE =
            Pattern.compile("^\\s+(\\d+): invoke\\w+\\s.*// (?:Interface)?Method (\\S+)$");
    private static final Pattern HANDLE = Pattern.compile("= MethodHandle\\s.*// REF_\\w+ (\\S+)$");
    private static final Pattern LINE = Pattern.compile("^\\s+line (\\d+): (\\d+)$");

    private BorrowingCallScanner() {}

    /**
     * Whether a call target ({@code owner.name:descriptor}, as javap prints it) wraps Java data in
     * a borrowing array.
     */
    static boolean isBorrowing(String target) {
        int colon = target.indexOf(':');
        int dot = colon < 0 ? -1 : target.lastIndexOf('.', colon);
        if (dot < 0 || target.indexOf('(', colon) < 0 || target.indexOf(')', colon) < 0) {
            return false; // not a method (a field handle, a string constant)
        }
        String owner = target.substring(0, dot).replace('"', ' ').trim();
        String name = target.substring(dot + 1, colon).replace("\"", "");
        String desc = target.substring(colon + 1);
        String params = desc.substring(desc.indexOf('(') + 1, desc.indexOf(')'));
        if (ARRAY_OWNERS.contains(owner)) {
            if (params.contains("Ljava/lang/Number;")) {
                return !name.equals("clip"); // clip passes its bounds to libtorch as Scalars
            }
            if (name.equals("set") && (params.startsWith("[") || params.startsWith("Ljava/nio/"))) {
                return true;
            }
            return INTERNALLY_BORROWING.contains(name);
        }
        if (MANAGER_OWNERS.contains(owner)) {
            if (name.equals("hanningWindow")) {
                return true;
            }
            if (!name.startsWith("create") || params.isEmpty()) {
                return false;
            }
            char c = params.charAt(0);
            return c == '[' || "FDJIZBSC".indexOf(c) >= 0
                    || params.startsWith("Ljava/nio/")
                    || params.startsWith("Ljava/lang/Number;")
                    || params.startsWith("Ljava/lang/String;");
        }
        return false;
    }

    /** All class files under {@code dir}. */
    static List<Path> classFiles(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".class")).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Scans {@code classFiles} (relative class names are taken from {@code root}). */
    static List<Hit> scan(Path root, List<Path> classFiles) throws IOException, InterruptedException {
        List<Hit> hits = new ArrayList<>();
        Path javap = Paths.get(System.getProperty("java.home"), "bin", "javap");
        for (int i = 0; i < classFiles.size(); i += 64) {
            List<String> cmd = new ArrayList<>(List.of(javap.toString(), "-c", "-p", "-l", "-v"));
            for (Path p : classFiles.subList(i, Math.min(classFiles.size(), i + 64))) {
                cmd.add(p.toAbsolutePath().toString());
            }
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Path out = Files.createTempFile("javap", ".txt");
            try {
                proc.getInputStream().transferTo(Files.newOutputStream(out));
                int rc = proc.waitFor();
                List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
                if (rc != 0) {
                    throw new IllegalStateException("javap failed (" + rc + "): " + String.join("\n", lines));
                }
                parse(root, lines, hits);
            } finally {
                Files.deleteIfExists(out);
            }
        }
        return hits;
    }

    private static void parse(Path root, List<String> lines, List<Hit> hits) {
        String cls = "?";
        String method = null;
        Map<Integer, String> pending = new TreeMap<>(); // pc -> target, for the current method
        TreeMap<Integer, Integer> pcToLine = new TreeMap<>();
        for (String line : lines) {
            Matcher m;
            if ((m = CLASSFILE.matcher(line)).matches()) {
                flush(cls, method, pending, pcToLine, hits);
                method = null;
                String rel = root.toAbsolutePath().relativize(Paths.get(m.group(1))).toString();
                cls = rel.substring(0, rel.length() - ".class".length()).replace('/', '.');
            } else if (METHOD.matcher(line).matches()) {
                flush(cls, method, pending, pcToLine, hits);
                String sig = line.trim();
                int paren = sig.indexOf('(');
                String head = paren < 0 ? sig : sig.substring(0, paren);
                method = head.substring(head.lastIndexOf(' ') + 1).replace(";", "");
                if (method.equals("{}")) {
                    method = "<clinit>";
                } else if (method.contains(".")) {
                    method = "<init>";
                }
            } else if ((m = INVOKE.matcher(line)).matches()) {
                if (isBorrowing(m.group(2))) {
                    pending.put(Integer.parseInt(m.group(1)), m.group(2));
                }
            } else if ((m = LINE.matcher(line)).matches()) {
                pcToLine.put(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(1)));
            } else if ((m = HANDLE.matcher(line)).find()) {
                if (isBorrowing(m.group(1))) {
                    hits.add(new Hit(cls, "(method reference)", 0, m.group(1)));
                }
            }
        }
        flush(cls, method, pending, pcToLine, hits);
    }

    private static void flush(
            String cls, String method, Map<Integer, String> pending, TreeMap<Integer, Integer> pcToLine, List<Hit> hits) {
        for (Map.Entry<Integer, String> e : pending.entrySet()) {
            Map.Entry<Integer, Integer> l = pcToLine.floorEntry(e.getKey());
            hits.add(new Hit(cls, method, l == null ? 0 : l.getValue(), e.getValue()));
        }
        pending.clear();
        pcToLine.clear();
    }
}
