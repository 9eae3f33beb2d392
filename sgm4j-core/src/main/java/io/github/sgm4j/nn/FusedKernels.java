package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libtorch kernels that DJL 0.35's JNI does not expose, reached through a tiny TorchScript module
 * ({@code fused_ops.pt}, written by {@code sgm4j-core/src/main/torchscript/gen_fused_ops.py}):
 * torch's native {@code group_norm} (one statistics pass and one normalise-and-affine pass, where
 * sgm4j otherwise needs {@code layer_norm} plus a {@code batch_norm} for the affine), {@code silu}
 * (one pass instead of {@code sigmoid} and a product) and the two back to back. Issue 15: on the
 * MNIST UNet these ops took twice the share of the forward they take in the reference. Two more
 * methods only save JNI calls: the training form of the group norm ({@code layer_norm} plus a
 * {@code batch_norm} affine) and AdamW's update of all parameters, each the same aten ops as the
 * per-call Java form in one call.
 *
 * <p>Methods run with the caller's autograd mode (DJL's public {@code IValueUtils.runMethod}
 * always runs in inference mode, whose outputs may not be updated in place nor saved for
 * backward, so the JNI entry point is called directly with {@code is_train = true}; the graph
 * executor's optimisation is switched off, so each method is the plain sequence of its aten ops
 * and records the same autograd graph as eager torch). When the module or the JNI entry points
 * cannot be reached (another DJL build, a module-path setup that hides the engine's package),
 * {@link #available()} is false and {@link F} uses its composed forms.
 */
final class FusedKernels {

    private static final Logger LOG = LoggerFactory.getLogger(FusedKernels.class);

    private static final FusedKernels INSTANCE = load();

    /** Held so the loaded module stays reachable for the JVM's life; its native handle is used directly. */
    private final PtSymbolBlock module;
    private final long moduleHandle;
    private final Object lib;
    private final MethodHandle runMethod;
    private final MethodHandle toTensor;
    private final MethodHandle toLong;
    private final MethodHandle deleteIValue;
    private final IValue groups32;

    private FusedKernels(PtSymbolBlock module, Object lib, MethodHandle runMethod, MethodHandle toTensor,
            MethodHandle toLong, MethodHandle deleteIValue) {
        this.module = module;
        this.moduleHandle = module.getHandle();
        this.lib = lib;
        this.runMethod = runMethod;
        this.toTensor = toTensor;
        this.toLong = toLong;
        this.deleteIValue = deleteIValue;
        this.groups32 = IValue.from(32L);
    }

    private static FusedKernels load() {
        if (Boolean.getBoolean("sgm4j.fusedKernels.disable")) {
            return null;
        }
        try (InputStream in = FusedKernels.class.getResourceAsStream("fused_ops.pt")) {
            if (in == null) {
                LOG.warn("fused_ops.pt is missing from the classpath: GroupNorm/SiLU use the composed forms");
                return null;
            }
            Class<?> libClass = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(libClass, MethodHandles.lookup());
            Object lib = lookup.findStaticVarHandle(libClass, "LIB", libClass).get();
            MethodHandle run = lookup.findVirtual(libClass, "moduleRunMethod",
                    MethodType.methodType(long.class, long.class, String.class, long[].class, boolean.class, boolean.class));
            MethodHandle toTensor = lookup.findVirtual(libClass, "iValueToTensor",
                    MethodType.methodType(long.class, long.class));
            MethodHandle toLong = lookup.findVirtual(libClass, "iValueToLong",
                    MethodType.methodType(long.class, long.class));
            MethodHandle delete = lookup.findVirtual(libClass, "torchDeleteIValue",
                    MethodType.methodType(void.class, long.class));
            // owned for the life of the JVM: the module is a few KB and shared by all callers
            PtNDManager manager = (PtNDManager) NDManager.newBaseManager();
            PtSymbolBlock module = JniUtils.loadModule(manager, in, false, false);
            JniUtils.setGraphExecutorOptimize(false);
            return new FusedKernels(module, lib, run, toTensor, toLong, delete);
        } catch (IOException | ReflectiveOperationException | RuntimeException e) {
            LOG.warn("fused GroupNorm/SiLU kernels unavailable ({}): using the composed forms", e.toString());
            return null;
        }
    }

    /**
     * The loaded kernels, or null when they cannot be used in this JVM.
     *
     * @return the singleton or null
     */
    static FusedKernels available() {
        return INSTANCE;
    }

    /**
     * Whether {@code x} and the affine parameters suit the fused group norm: no autograd recording,
     * float32, both parameters present and float32. While autograd records, the composed form runs:
     * torch 2.7's {@code native_group_norm_backward} sums in another order than torch 1.13's, and
     * on ldm's first-stage training case (golden {@code ldm_autoencoder_kl_train}) one bias
     * gradient, a sum with heavy cancellation, then lands just outside its tolerance (3.2e-5 against
     * 3e-5), where the layer-norm/batch-norm form stays inside it.
     */
    static boolean groupNormApplies(NDArray x, NDArray weight, NDArray bias) {
        return INSTANCE != null && !JniUtils.isGradMode() && float32WithAffine(x, weight, bias);
    }

    /**
     * Whether {@code x} and the affine parameters suit the training form of the group norm
     * ({@link #groupNormLayerBatch}): autograd recording, float32, both parameters present and
     * float32.
     */
    static boolean groupNormLayerBatchApplies(NDArray x, NDArray weight, NDArray bias) {
        return INSTANCE != null && JniUtils.isGradMode() && float32WithAffine(x, weight, bias);
    }

    /** A float32 PyTorch input with both affine parameters present and float32. */
    private static boolean float32WithAffine(NDArray x, NDArray weight, NDArray bias) {
        return x instanceof PtNDArray && x.getDataType() == DataType.FLOAT32 && weight != null && bias != null
                && weight.getDataType() == DataType.FLOAT32 && bias.getDataType() == DataType.FLOAT32;
    }

    /**
     * The group norm as {@code layer_norm} over {@code x} viewed as [B*G, N] (unit weight, zero bias)
     * and an inference-mode {@code batch_norm} over [B, C, N] with zero mean, unit variance and eps 0 as
     * the per-channel affine: the aten calls of {@code F.groupNormLayerBatch} in one JNI call, so the
     * same autograd graph and the same numbers.
     */
    NDArray groupNormLayerBatch(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        return callNorm("group_norm_layer_batch", x, groups, weight, bias, eps);
    }

    /** {@code silu(groupNormLayerBatch(x, groups, weight, bias, eps))}, not in place. */
    NDArray groupNormLayerBatchSilu(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        return callNorm("group_norm_layer_batch_silu", x, groups, weight, bias, eps);
    }

    /**
     * Whether q, k, v suit libtorch's fused attention ({@link #attention}): no autograd recording,
     * all float32 PyTorch arrays of rank 3 or 4.
     */
    static boolean attentionApplies(NDArray q, NDArray k, NDArray v) {
        if (INSTANCE == null || JniUtils.isGradMode()) {
            return false;
        }
        int rank = q.getShape().dimension();
        for (NDArray a : new NDArray[] {q, k, v}) {
            if (!(a instanceof PtNDArray) || a.getDataType() != DataType.FLOAT32 || a.getShape().dimension() != rank) {
                return false;
            }
        }
        return rank == 3 || rank == 4;
    }

    /**
     * {@code torch.scaled_dot_product_attention(q, k, v, scale=scale)}: on the CPU libtorch's fused
     * (flash) kernel, which works through blocks of queries and keys with a running softmax and never
     * holds the score matrix.
     */
    NDArray attention(NDArray q, NDArray k, NDArray v, double scale) {
        try (IValue qi = IValue.from((PtNDArray) q);
                IValue ki = IValue.from((PtNDArray) k);
                IValue vi = IValue.from((PtNDArray) v);
                IValue si = IValue.from(scale)) {
            return run("attention", q, new long[] {qi.getHandle(), ki.getHandle(), vi.getHandle(), si.getHandle()});
        }
    }

    /** {@code torch.group_norm(x, groups, weight, bias, eps)}. */
    NDArray groupNorm(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        return callNorm("group_norm", x, groups, weight, bias, eps);
    }

    /** {@code silu(torch.group_norm(x, groups, weight, bias, eps))}. */
    NDArray groupNormSilu(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        return callNorm("group_norm_silu", x, groups, weight, bias, eps);
    }

    /** {@code torch.nn.functional.silu(x)}. */
    NDArray silu(NDArray x) {
        try (IValue xi = IValue.from((PtNDArray) x)) {
            return run("silu", x, new long[] {xi.getHandle()});
        }
    }

    /**
     * AdamW's update of every parameter in {@code params} with the gradients and state arrays at the
     * same positions and the 0-d operands of the step; see {@code F.adamwUpdate}.
     *
     * @return how many parameters were updated
     */
    long adamwUpdate(List<NDArray> params, List<NDArray> grads, List<NDArray> expAvgs, List<NDArray> expAvgSqs,
            NDArray... scalars) {
        List<IValue> args = new ArrayList<>();
        try {
            for (List<NDArray> list : List.of(params, grads, expAvgs, expAvgSqs)) {
                args.add(IValue.listFrom(list.toArray(PtNDArray[]::new)));
            }
            for (NDArray c : scalars) {
                args.add(IValue.from((PtNDArray) c));
            }
            long[] handles = args.stream().mapToLong(IValue::getHandle).toArray();
            return (long) invoke("adamw_update", handles, toLong, params.size() + " parameters");
        } finally {
            args.forEach(IValue::close);
        }
    }

    private NDArray callNorm(String method, NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        try (IValue xi = IValue.from((PtNDArray) x);
                IValue wi = IValue.from((PtNDArray) weight);
                IValue bi = IValue.from((PtNDArray) bias);
                IValue gi = groups == 32 ? null : IValue.from((long) groups);
                IValue ei = IValue.from(eps)) {
            long g = gi == null ? groups32.getHandle() : gi.getHandle();
            return run(method, x, new long[] {xi.getHandle(), wi.getHandle(), bi.getHandle(), g, ei.getHandle()});
        }
    }

    private NDArray run(String method, NDArray x, long[] args) {
        long tensor = (long) invoke(method, args, toTensor, "input " + x.getShape());
        return new PtNDArray((PtNDManager) x.getManager(), tensor);
    }

    /**
     * Runs {@code method} on the argument handles with the caller's autograd mode and converts its
     * result with {@code convert} ({@code iValueToTensor} or {@code iValueToLong}); the result's
     * IValue handle is deleted. {@code what} names the inputs in an error.
     */
    private Object invoke(String method, long[] args, MethodHandle convert, String what) {
        long result;
        try {
            result = (long) runMethod.invoke(lib, moduleHandle, method, args, true, false);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fused kernel " + method + " failed for " + what, t);
        }
        try {
            return convert.invoke(lib, result);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fused kernel " + method + ": no result of the expected type for " + what, t);
        } finally {
            deleteQuietly(result);
        }
    }

    private void deleteQuietly(long iValue) {
        try {
            deleteIValue.invoke(lib, iValue);
        } catch (Throwable t) {
            // deleting the result handle: nothing the caller could act on, the result is already out
        }
    }
}
