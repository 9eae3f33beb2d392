package io.github.sgm4j.golden;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.opentest4j.TestAbortedException;

/**
 * The data-driven parity suite: one dynamic test per case folder under {@code
 * src/test/resources/golden} (or {@code -Dsgm4j.golden.dir=DIR}), run by the {@link GoldenRunner}
 * of its family. A case with no runner is reported as skipped, by name. Writes {@code
 * target/golden-report.json}.
 */
class GoldenCasesTest {

    private static final List<JsonObject> REPORT = Collections.synchronizedList(new ArrayList<>());

    static Path goldenRoot() {
        return Paths.get(System.getProperty("sgm4j.golden.dir", "src/test/resources/golden"));
    }

    static List<GoldenRunner> discoverRunners() {
        String pkg = "io.github.sgm4j.golden.runners";
        URL url = GoldenCasesTest.class.getClassLoader().getResource(pkg.replace('.', '/'));
        List<GoldenRunner> runners = new ArrayList<>();
        if (url == null) {
            return runners;
        }
        try (Stream<Path> files = Files.list(Paths.get(url.toURI()))) {
            List<Path> classes = files.filter(p -> p.toString().endsWith(".class") && !p.getFileName().toString().contains("$"))
                    .sorted()
                    .toList();
            for (Path p : classes) {
                String cn = pkg + "." + p.getFileName().toString().replace(".class", "");
                Class<?> c = Class.forName(cn);
                if (GoldenRunner.class.isAssignableFrom(c) && !c.isInterface()
                        && !java.lang.reflect.Modifier.isAbstract(c.getModifiers())) {
                    runners.add((GoldenRunner) c.getDeclaredConstructor().newInstance());
                }
            }
        } catch (IOException | URISyntaxException | ReflectiveOperationException e) {
            throw new IllegalStateException("cannot discover golden runners in " + pkg, e);
        }
        return runners;
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() throws IOException {
        Path root = goldenRoot();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("golden case root does not exist: " + root.toAbsolutePath());
        }
        List<GoldenRunner> runners = discoverRunners();
        List<Path> cases;
        try (Stream<Path> dirs = Files.list(root)) {
            cases = dirs.filter(d -> Files.exists(d.resolve("case.json"))).sorted().toList();
        }
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> runCase(dir, runners, true)));
    }

    static void runCase(Path dir, List<GoldenRunner> runners) throws Exception {
        runCase(dir, runners, false);
    }

    private static void runCase(Path dir, List<GoldenRunner> runners, boolean record) throws Exception {
        String name = dir.getFileName().toString();
        List<GoldenRunner> matching = runners.stream().filter(r -> r.handles(name)).toList();
        if (matching.isEmpty()) {
            report(record, name, "skipped", Double.NaN, Double.NaN, "no runner for this case family yet");
            System.out.printf("[golden] %-40s SKIPPED (no runner)%n", name);
            Assumptions.abort("no runner for golden case " + name);
        }
        if (matching.size() > 1) {
            throw new IllegalStateException("several runners claim " + name + ": " + matching);
        }
        GoldenRunner runner = matching.get(0);
        long t0 = System.nanoTime();
        try (NDManager base = NDManager.newBaseManager();
                NDScope scope = new NDScope();
                GoldenCase golden = GoldenCase.load(dir, base)) {
            Checker check = new Checker(golden);
            try {
                runner.run(golden, check);
                check.finish();
            } catch (TestAbortedException e) {
                report(record, name, "skipped", Double.NaN, Double.NaN, e.getMessage());
                throw e;
            } catch (Throwable t) {
                report(record, name, "failed", check.maxAbsError(), check.maxRelError(), String.valueOf(t.getMessage()));
                System.out.printf("[golden] %-40s FAILED  %s%n", name, t.getMessage());
                throw t;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            String msg = check.checkedCount() + " outputs checked"
                    + (check.skipped().isEmpty() ? "" : ", skipped " + check.skipped());
            report(record, name, "passed", check.maxAbsError(), check.maxRelError(), msg);
            System.out.printf("[golden] %-40s passed  worst abs err %.3g (%s), rel %.3g, %d outputs, %.1fs%n",
                    name, check.maxAbsError(), check.worstOutput(), check.maxRelError(), check.checkedCount(), secs);
        }
    }

    private static void report(boolean record, String name, String status, double maxAbs, double maxRel, String message) {
        if (!record) {
            return;
        }
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.addProperty("status", status);
        if (Double.isFinite(maxAbs)) {
            o.addProperty("maxAbsError", maxAbs);
        } else {
            o.add("maxAbsError", com.google.gson.JsonNull.INSTANCE);
        }
        if (Double.isFinite(maxRel)) {
            o.addProperty("maxRelError", maxRel);
        } else {
            o.add("maxRelError", com.google.gson.JsonNull.INSTANCE);
        }
        o.addProperty("message", message);
        REPORT.add(o);
    }

    @AfterAll
    static void writeReport() {
        JsonArray arr = new JsonArray();
        List<JsonObject> sorted = new ArrayList<>(REPORT);
        sorted.sort((a, b) -> a.get("name").getAsString().compareTo(b.get("name").getAsString()));
        long passed = 0;
        long failed = 0;
        long skipped = 0;
        for (JsonObject o : sorted) {
            arr.add(o);
            switch (o.get("status").getAsString()) {
                case "passed" -> passed++;
                case "failed" -> failed++;
                default -> skipped++;
            }
        }
        JsonObject root = new JsonObject();
        root.add("cases", arr);
        Path out = Paths.get("target", "golden-report.json");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(root),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.printf("[golden] %d passed, %d failed, %d skipped -> %s%n", passed, failed, skipped, out);
    }
}
