package io.github.sgm4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.noise.NoiseSource;
import java.util.Objects;

/**
 * A named tensor slot of a {@link Module}: a trainable parameter or a buffer.
 *
 * <p>Shape and dtype are fixed at construction, so a whole model's key/shape listing exists
 * before any array is allocated. The array is created by {@link Module#initialize} or by {@link
 * Module#loadStateDict}.
 */
public final class Parameter {

    /** Whether the slot is a parameter ({@code nn.Parameter}) or a buffer ({@code register_buffer}). */
    public enum Kind {
        /** A trainable parameter; returned by {@link Module#namedParameters()}. */
        PARAMETER,
        /** A buffer: state that is not trained (running statistics, schedules). */
        BUFFER
    }

    private final String name;
    private final Kind kind;
    private Shape shape;
    private DataType dataType;
    private Init init;
    private final boolean persistent;
    private boolean requiresGrad;
    private NDArray array;

    Parameter(String name, Kind kind, Shape shape, DataType dataType, Init init, boolean persistent) {
        this.name = Objects.requireNonNull(name, "name");
        this.kind = kind;
        this.shape = Objects.requireNonNull(shape, "shape");
        this.dataType = Objects.requireNonNull(dataType, "dataType");
        this.init = Objects.requireNonNull(init, "init");
        this.persistent = persistent;
        this.requiresGrad = kind == Kind.PARAMETER;
    }

    /**
     * The local (attribute) name, e.g. {@code weight}.
     *
     * @return the name, without the parent's prefix
     */
    public String getName() {
        return name;
    }

    /**
     * Parameter or buffer.
     *
     * @return the kind
     */
    public Kind getKind() {
        return kind;
    }

    /**
     * The shape fixed at construction.
     *
     * @return the shape
     */
    public Shape getShape() {
        return shape;
    }

    /**
     * The dtype fixed at construction (or changed by {@link Module#toDataType}).
     *
     * @return the dtype
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * Whether the slot appears in the state dict (non-persistent buffers do not).
     *
     * @return whether the slot is persistent
     */
    public boolean isPersistent() {
        return persistent;
    }

    /**
     * Whether the optimizer trains this parameter ({@code requires_grad}).
     *
     * @return whether the slot requires gradients
     */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Sets {@code requires_grad}; buffers never require gradients.
     *
     * @param requiresGrad the flag; ignored (false) for buffers
     */
    public void setRequiresGrad(boolean requiresGrad) {
        this.requiresGrad = requiresGrad && kind == Kind.PARAMETER;
    }

    /**
     * Whether the array exists.
     *
     * @return true after allocation or load, false after {@link Module#release()}
     */
    public boolean isInitialized() {
        return array != null;
    }

    /**
     * The array.
     *
     * @return the live array, owned by the module's manager: do not close it
     * @throws IllegalStateException if the module was neither initialised nor loaded
     */
    public NDArray getArray() {
        if (array == null) {
            throw new IllegalStateException(
                    "tensor '" + name + "' " + shape + " is not allocated: call Module.initialize or"
                            + " loadStateDict first");
        }
        return array;
    }

    /**
     * Replaces the array (closing the old one). The new array must have the slot's shape; it is
     * converted to the slot's dtype and attached to {@code manager}.
     *
     * @param value an array of the slot's shape; copied (the caller keeps ownership of {@code value})
     * @param manager the manager that owns the copy
     * @throws IllegalArgumentException if the shape differs
     */
    public void setArray(NDArray value, NDManager manager) {
        if (!value.getShape().equals(shape)) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': expected shape " + shape + ", got " + value.getShape());
        }
        NDArray converted = value.getDataType() == dataType ? value.duplicate() : value.toType(dataType, true);
        if (!converted.getDevice().equals(manager.getDevice())) {
            NDArray moved = converted.toDevice(manager.getDevice(), true);
            converted.close();
            converted = moved;
        }
        converted.attach(manager);
        NDScope.unregister(converted);
        NDArray old = array;
        // the copy is a fresh leaf: keep the slot's autograd flag (like torch's param.data.copy_),
        // otherwise an optimizer would silently stop updating after an EMA swap or a reload
        if (old != null && old != value && old.hasGradient()) {
            converted.setRequiresGradient(true);
        }
        array = converted;
        if (old != null && old != value) {
            old.close();
        }
    }

    /**
     * Replaces the array in place without copying: {@code value} becomes owned by the slot. Used by
     * optimizers and EMA, which compute the new value themselves.
     *
     * @param value an array of the slot's shape and dtype; the slot takes ownership
     * @param manager the manager {@code value} is attached to
     * @throws IllegalArgumentException if the shape or the dtype differs
     */
    public void assign(NDArray value, NDManager manager) {
        if (!value.getShape().equals(shape)) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': expected shape " + shape + ", got " + value.getShape());
        }
        if (value.getDataType() != dataType) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': expected dtype " + dataType + ", got " + value.getDataType());
        }
        value.attach(manager);
        NDScope.unregister(value);
        NDArray old = array;
        array = value;
        if (old != null && old != value) {
            old.close();
        }
    }

    /**
     * Replaces the default initialiser (e.g. {@code zero_module}); only before allocation matters.
     *
     * @param init the initialiser
     */
    public void setInit(Init init) {
        this.init = java.util.Objects.requireNonNull(init, "init");
    }

    void allocate(NDManager manager, NoiseSource noise) {
        if (array == null) {
            NDArray created = init.create(manager, shape, dataType, noise);
            created.attach(manager);
            NDScope.unregister(created);
            array = created;
        }
    }

    void convert(DataType target, NDManager manager) {
        if (!dataType.isFloating() || dataType == target) {
            return;
        }
        dataType = target;
        if (array != null) {
            NDArray converted = array.toType(target, true);
            if (array.hasGradient()) {
                converted.setRequiresGradient(true);
            }
            converted.attach(manager);
            NDScope.unregister(converted);
            array.close();
            array = converted;
        }
    }

    void redefineShape(Shape newShape) {
        if (array != null) {
            throw new IllegalStateException("cannot reshape allocated tensor '" + name + "'");
        }
        this.shape = newShape;
    }

    void release() {
        if (array != null) {
            array.close();
            array = null;
        }
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + name + " " + shape + " " + dataType;
    }
}
