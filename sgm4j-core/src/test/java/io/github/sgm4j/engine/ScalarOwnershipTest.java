package io.github.sgm4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * No class of sgm4j except {@link Tensors} may call a DJL overload that wraps Java data in an array
 * borrowing a Java buffer: libtorch can keep such a tensor (autograd saves scalar operands for
 * backward) after the garbage collector has freed the buffer. Checked on the bytecode of {@code
 * target/classes}.
 */
class ScalarOwnershipTest {

    private static Path location(Class<?> c) throws Exception {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void noBorrowingOverloadOutsideTensors() throws Exception {
        Path classes = location(Tensors.class);
        List<Path> files = BorrowingCallScanner.classFiles(classes);
        assertTrue(files.size() > 100, "expected the main classes under " + classes + ", found " + files.size());
        List<BorrowingCallScanner.Hit> hits = BorrowingCallScanner.scan(classes, files).stream()
                .filter(h -> !h.className().equals(Tensors.class.getName()))
                .collect(Collectors.toList());
        assertTrue(hits.isEmpty(), hits.size() + " call(s) of borrowing DJL overloads outside "
                + "io.github.sgm4j.engine.Tensors (use Tensors.create/scalar or the scalar ops of nn.F):\n  "
                + hits.stream().map(Object::toString).collect(Collectors.joining("\n  ")));
    }

    @Test
    void tensorsItselfIsSeenToBorrow() throws Exception {
        // the scanner reads the class the exemption is for: it must see its DJL calls
        Path classes = location(Tensors.class);
        Path tensors = classes.resolve(Tensors.class.getName().replace('.', '/') + ".class");
        assertFalse(BorrowingCallScanner.scan(classes, List.of(tensors)).isEmpty());
    }

    @Test
    void detectorFlagsDeliberateBorrowing() throws Exception {
        Path testClasses = location(BorrowingFixture.class);
        Path fixture = testClasses.resolve(BorrowingFixture.class.getName().replace('.', '/') + ".class");
        List<BorrowingCallScanner.Hit> hits = BorrowingCallScanner.scan(testClasses, List.of(fixture));
        List<String> where = hits.stream().map(h -> h.method() + " " + h.target()).collect(Collectors.toList());
        assertEquals(4, hits.size(), String.valueOf(where));
        assertTrue(where.contains("scalarOverload ai/djl/ndarray/NDArray.mul:(Ljava/lang/Number;)Lai/djl/ndarray/NDArray;"),
                String.valueOf(where));
        assertTrue(where.stream().anyMatch(w -> w.startsWith("staticScalarOverload ai/djl/ndarray/NDArrays.sub:")),
                String.valueOf(where));
        assertTrue(where.stream().anyMatch(w -> w.startsWith("createFromJavaData ai/djl/ndarray/NDManager.create:([F)")),
                String.valueOf(where));
        assertTrue(where.stream().anyMatch(w -> w.startsWith("(method reference) ai/djl/ndarray/NDArray.add:")),
                String.valueOf(where));
        assertTrue(hits.stream().allMatch(h -> h.className().equals(BorrowingFixture.class.getName())));
        assertTrue(hits.stream().filter(h -> h.method().equals("scalarOverload")).allMatch(h -> h.line() > 0));
    }

    @Test
    void ownedAndNativeOverloadsAreNotFlagged() {
        assertFalse(BorrowingCallScanner.isBorrowing(
                "ai/djl/ndarray/NDArray.clip:(Ljava/lang/Number;Ljava/lang/Number;)Lai/djl/ndarray/NDArray;"));
        assertFalse(BorrowingCallScanner.isBorrowing(
                "ai/djl/ndarray/NDArray.mul:(Lai/djl/ndarray/NDArray;)Lai/djl/ndarray/NDArray;"));
        assertFalse(BorrowingCallScanner.isBorrowing(
                "ai/djl/ndarray/NDManager.create:(Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;)Lai/djl/ndarray/NDArray;"));
        assertTrue(BorrowingCallScanner.isBorrowing(
                "ai/djl/ndarray/NDManager.create:(Ljava/nio/Buffer;Lai/djl/ndarray/types/Shape;Lai/djl/ndarray/types/DataType;)Lai/djl/ndarray/NDArray;"));
        assertTrue(BorrowingCallScanner.isBorrowing("ai/djl/ndarray/NDArray.set:(Ljava/nio/Buffer;)V"));
        assertTrue(BorrowingCallScanner.isBorrowing("ai/djl/ndarray/NDArray.cbrt:()Lai/djl/ndarray/NDArray;"));
    }
}
