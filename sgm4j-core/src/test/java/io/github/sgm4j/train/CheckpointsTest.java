package io.github.sgm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.models.DiffusionEngine;
import io.github.sgm4j.train.data.MnistDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 10 items 2 and 3: the checkpoint kept after a NaN stop, resume consistency, atomic checkpoint pairs. */
class CheckpointsTest {

    static MnistDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        data = MnistDataset.load(Path.of("data/mnist"), true);
    }

    @AfterEach
    void restoreWriter() {
        Checkpoints.tempWriter = SafeTensors::writeTemp;
    }

    static Trainer.Result run(DiffusionEngine e, long steps, Path out, long ckptEvery) {
        return new Trainer(e, TrainingTest.mnist(), TrainingTest.LOADER, Trainer.Options.of(steps, out, ckptEvery, 1000, 11L, List.of(0, 1)))
                .run(new Trainer.Listener() {
                    @Override
                    public void onStep(long step, Trainer.StepInfo r) {}
                });
    }

    static List<Long> metricSteps(Path out) throws IOException {
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.csv"), StandardCharsets.UTF_8)) {
            if (!line.startsWith("step")) {
                steps.add(Long.parseLong(line.substring(0, line.indexOf(','))));
            }
        }
        return steps;
    }

    /**
     * A checkpoint pair (model + optimizer state) of {@code e} at global step {@code step} without
     * training (the tests must not depend on the numerics of real steps).
     */
    static void saveAt(DiffusionEngine e, long step, Path file) {
        e.configureOptimizers();
        e.setGlobalStep(step);
        Checkpoints.save(file, e, 11L);
    }

    /**
     * Item 2: an exploding learning rate makes the weights NaN in the first step after the
     * checkpoint of step 5. The run stops at step 6 and says which checkpoint it kept (step 5,
     * finite, resumable); metrics.csv holds the row of step 6; a run resumed from step 5 rewrites
     * that row instead of duplicating it. Without any checkpoint the message says none was written.
     */
    @Test
    void nonFiniteUpdateKeepsTheLastFiniteCheckpoint() throws Exception {
        Path out = dir.resolve("run");
        Path last = out.resolve("last.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            saveAt(e, 5, last);
            e.setLearningRate(1e39);
            Trainer.DivergedException ex = assertThrows(Trainer.DivergedException.class, () -> run(e, 8, out, 1));
            assertEquals(6, ex.step());
            assertEquals(last, ex.checkpoint());
            assertEquals(5L, ex.checkpointStep());
            assertTrue(ex.getMessage().contains("step 6") && ex.getMessage().contains(last + " (step 5) is kept"),
                    ex.getMessage());
            assertEquals(5L, Checkpoints.recordedStep(last));
            assertEquals(5L, Checkpoints.recordedStep(Checkpoints.trainerFile(last)));
            assertNull(Checkpoints.firstNonFinite(SafeTensors.readAll(last, m)), "kept checkpoint is finite");
            assertEquals(List.of(6L), metricSteps(out), "the diverged step's row is flushed");

            DiffusionEngine again = TrainingTest.engine(m, TrainingTest.TINY);
            Checkpoints.resume(last, again);
            assertEquals(5, again.getGlobalStep());
            again.setLearningRate(1e39);
            assertThrows(Trainer.DivergedException.class, () -> run(again, 8, out, 1));
            assertEquals(List.of(6L), metricSteps(out), "no duplicate rows after resume");

            Path fresh = dir.resolve("fresh");
            DiffusionEngine boom = TrainingTest.engine(m, TrainingTest.TINY);
            boom.setLearningRate(1e39);
            Trainer.DivergedException none = assertThrows(Trainer.DivergedException.class, () -> run(boom, 3, fresh, 1));
            assertNull(none.checkpoint());
            assertTrue(none.getMessage().contains("no checkpoint was written"), none.getMessage());
            assertFalse(Files.exists(fresh.resolve("last.safetensors")));
            assertEquals(List.of(1L), metricSteps(fresh));
        }
    }

    /** Item 2: Checkpoints never writes a non-finite tensor; the error names the key, nothing is written. */
    @Test
    void saveRefusesNonFiniteTensors() {
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            String key = "model.diffusion_model.out.2.bias";
            Map<String, NDArray> sd = new LinkedHashMap<>(e.stateDict());
            NDArray bad = sd.get(key).duplicate();
            bad.set(new ai.djl.ndarray.index.NDIndex("0"), Float.NaN);
            sd.put(key, bad);
            e.loadStateDict(sd, true);
            Path f = dir.resolve("nan.safetensors");
            Checkpoints.NonFiniteTensorException ex = assertThrows(Checkpoints.NonFiniteTensorException.class,
                    () -> Checkpoints.save(f, e, 0));
            assertEquals(key, ex.key());
            assertTrue(ex.getMessage().contains(key) && ex.getMessage().contains(f.toString()), ex.getMessage());
            assertFalse(Files.exists(f));
            assertEquals(List.of(), list(dir));
        }
    }

    /**
     * Item 3: resume refuses a trainer file of another step and a missing trainer file (naming both
     * files); {@code resetOptimizer} accepts the missing one.
     */
    @Test
    void resumeRefusesMismatchedOrMissingTrainerState() throws Exception {
        Path out = dir.resolve("run");
        Path last = out.resolve("last.safetensors");
        Path trainer = Checkpoints.trainerFile(last);
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            saveAt(e, 1, last);
            Path step1 = dir.resolve("step1.trainer.safetensors");
            Files.copy(trainer, step1);
            saveAt(e, 2, last);
            Files.copy(step1, trainer, StandardCopyOption.REPLACE_EXISTING);
            IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoints.resume(last, TrainingTest.engine(m, TrainingTest.TINY)));
            String msg = mismatch.getMessage();
            assertTrue(msg.contains(last.toString()) && msg.contains(trainer.toString()) && msg.contains("global step 2")
                    && msg.contains("global step 1"), msg);

            Files.delete(trainer);
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoints.resume(last, TrainingTest.engine(m, TrainingTest.TINY)));
            assertTrue(missing.getMessage().contains(last.toString()) && missing.getMessage().contains(trainer.toString())
                    && missing.getMessage().contains("--reset-optimizer"), missing.getMessage());
            DiffusionEngine reset = TrainingTest.engine(m, TrainingTest.TINY);
            Checkpoints.resume(last, reset, true);
            assertEquals(2, reset.getGlobalStep());

            IllegalArgumentException isDir = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoints.resume(out, TrainingTest.engine(m, TrainingTest.TINY)));
            assertTrue(isDir.getMessage().contains("is a directory"), isDir.getMessage());
        }
    }

    /**
     * Item 3: a failed write (disk full, injected) of either file leaves the previous pair untouched
     * and no temporary file; checkpoints get the permissions of the other outputs; orphaned temporary
     * files of an interrupted write are removed on the next start.
     */
    @Test
    void failedWritesLeaveThePreviousPairAndNoTempFiles() throws Exception {
        Path out = dir.resolve("run");
        Path last = out.resolve("last.safetensors");
        Path trainer = Checkpoints.trainerFile(last);
        try (NDManager m = NDManager.newBaseManager()) {
            DiffusionEngine e = TrainingTest.engine(m, TrainingTest.TINY);
            run(e, 0, out, 1);   // creates metrics.csv
            saveAt(e, 1, last);
            if (out.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                assertEquals(Files.getPosixFilePermissions(out.resolve("metrics.csv")), Files.getPosixFilePermissions(last));
                assertEquals(Files.getPosixFilePermissions(out.resolve("metrics.csv")), Files.getPosixFilePermissions(trainer));
            }
            byte[] model1 = Files.readAllBytes(last);
            byte[] trainer1 = Files.readAllBytes(trainer);
            e.setGlobalStep(2);
            for (Path failing : List.of(last, trainer)) {
                Files.write(last, model1);
                Files.write(trainer, trainer1);
                Checkpoints.tempWriter = (target, tensors, meta) -> {
                    Path tmp = SafeTensors.writeTemp(target, tensors, meta);
                    if (target.equals(failing)) {
                        SafeTensors.deleteQuietly(tmp);
                        throw new UncheckedIOException("cannot write safetensors file " + target,
                                new IOException("No space left on device"));
                    }
                    return tmp;
                };
                assertThrows(UncheckedIOException.class, () -> Checkpoints.save(last, e, 11L));
                assertArrayEquals(model1, Files.readAllBytes(last), "model file untouched when " + failing + " fails");
                assertArrayEquals(trainer1, Files.readAllBytes(trainer), "trainer file untouched when " + failing + " fails");
                assertEquals(List.of(), list(out).stream().filter(SafeTensors::isTempFile).toList());
            }
            Checkpoints.tempWriter = SafeTensors::writeTemp;

            Path orphanNew = out.resolve(".last.safetensors.k3j2h1.tmp");
            Path orphanOld = out.resolve(".last.trainer.safetensors1234567890.tmp");
            Path other = out.resolve("notes.tmp");
            for (Path p : List.of(orphanNew, orphanOld, other)) {
                Files.writeString(p, "partial");
            }
            DiffusionEngine again = TrainingTest.engine(m, TrainingTest.TINY);
            Checkpoints.resume(last, again);
            run(again, again.getGlobalStep(), out, 1);   // starts (and cleans up), no step to run
            assertFalse(Files.exists(orphanNew));
            assertFalse(Files.exists(orphanOld));
            assertTrue(Files.exists(other), "only checkpoint temporaries are removed");
        }
    }

    static List<Path> list(Path d) {
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
