package io.github.sgm4j.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Builds objects from {@code target:} / {@code params:} config nodes, like sgm's {@code
 * instantiate_from_config}: the target resolves through {@link Targets} to a class whose {@code
 * public static X fromConfig(ConfigNode params, Instantiator inst)} builds it. Afterwards every key
 * of {@code params} must have been read (or declared ignored with {@link ConfigNode#ignore}); an
 * unread key is an error naming its path and the closest known key.
 *
 * <p>An instantiator carries a small context (objects a factory may need that are not in the
 * config, e.g. the model a {@code LitEma} tracks): {@link #with} returns a copy with one more entry.
 */
public final class Instantiator {

    private final Map<String, Object> context;
    private final Deque<String> targets = new ArrayDeque<>();

    /** An instantiator with an empty context. */
    public Instantiator() {
        this(new LinkedHashMap<>());
    }

    private Instantiator(Map<String, Object> context) {
        this.context = context;
    }

    /**
     * A copy of this instantiator whose context also maps {@code key} to {@code value}.
     *
     * @param key the context key
     * @param value the value
     * @return a new instantiator; this one is unchanged
     */
    public Instantiator with(String key, Object value) {
        Map<String, Object> c = new LinkedHashMap<>(context);
        c.put(key, value);
        return new Instantiator(c);
    }

    /**
     * A context value, or null.
     *
     * @param <T> the expected type
     * @param key the context key
     * @param type the expected class
     * @return the value, or null when absent
     * @throws IllegalStateException if the value is not a {@code type}
     */
    public <T> T context(String key, Class<T> type) {
        Object v = context.get(key);
        if (v == null) {
            return null;
        }
        if (!type.isInstance(v)) {
            throw new IllegalStateException("instantiator context '" + key + "' is a " + v.getClass().getName()
                    + ", not a " + type.getName());
        }
        return type.cast(v);
    }

    /**
     * A required context value.
     *
     * @param <T> the expected type
     * @param key the context key
     * @param type the expected class
     * @param path the config path named in the error
     * @return the value
     * @throws ConfigException naming {@code path} if the value is absent
     * @throws IllegalStateException if the value is not a {@code type}
     */
    public <T> T requireContext(String key, Class<T> type, String path) {
        T v = context(key, type);
        if (v == null) {
            throw new ConfigException(path, "building this target needs '" + key + "' (a " + type.getSimpleName()
                    + ") passed by the caller: use Instantiator.with(\"" + key + "\", ...)");
        }
        return v;
    }

    /**
     * The target name of the innermost {@code fromConfig} call in progress (as written in the config).
     *
     * @return the target string, or null outside any {@code fromConfig}
     */
    public String currentTarget() {
        return targets.peek();
    }

    /**
     * Whether {@code node.key} holds a sentinel string ({@code __is_first_stage__}, {@code
     * __is_unconditional__}).
     *
     * @param node the node
     * @param key the key (not marked read)
     * @return the sentinel, or null when the value is not one
     */
    public static Targets.Sentinel sentinel(ConfigNode node, String key) {
        return Targets.Sentinel.of(node.has(key) ? node.asMap().get(key) : null);
    }

    /**
     * Builds the object described by {@code node} ({@code target} plus optional {@code params}).
     *
     * @param node a node with {@code target} and optional {@code params}
     * @return the built object
     * @throws ConfigException naming the path for a missing or unknown target, bad or unread params
     */
    public Object instantiate(ConfigNode node) {
        return instantiate(node, Object.class);
    }

    /**
     * Builds the object described by {@code node} and checks it is an {@code expected}.
     *
     * @param <T> the expected type
     * @param node a node with {@code target} and optional {@code params}
     * @param expected the class the result must be an instance of
     * @return the built object
     * @throws ConfigException naming the path for a missing or unknown target, a wrong type, bad or unread
     *     params
     */
    public <T> T instantiate(ConfigNode node, Class<T> expected) {
        if (!node.has("target")) {
            throw new ConfigException(node.path(), "expected key 'target' to instantiate"
                    + (node.isEmpty() ? "" : " (keys: " + node.keys() + ")"));
        }
        String target = node.getString("target");
        String className = Targets.className(target, node.pathOf("target"));
        ConfigNode params = node.getNodeOrEmpty("params");
        Method factory = factory(className, target, node.pathOf("target"));
        Object built;
        targets.push(target);
        try {
            built = factory.invoke(null, params, this);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ConfigException ce) {
                throw ce;
            }
            if (cause instanceof RuntimeException re && re.getMessage() != null && re.getMessage().contains(params.path())) {
                throw re;
            }
            throw new ConfigException(params.path(), "cannot build " + target + ": " + cause, cause);
        } catch (IllegalAccessException e) {
            throw new ConfigException(node.pathOf("target"), "factory of " + className + " is not accessible", e);
        } finally {
            targets.pop();
        }
        params.checkAllKeysRead(Set.of());
        if (built == null || !expected.isInstance(built)) {
            throw new ConfigException(node.pathOf("target"), "target " + target + " built "
                    + (built == null ? "null" : "a " + built.getClass().getName()) + ", expected a " + expected.getName());
        }
        return expected.cast(built);
    }

    private static Method factory(String className, String target, String path) {
        Class<?> c;
        try {
            c = Class.forName(className, true, Instantiator.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new ConfigException(path, "target " + target + " is known but not available in this build (class "
                    + className + " is not part of sgm4j yet)");
        }
        try {
            Method m = c.getMethod("fromConfig", ConfigNode.class, Instantiator.class);
            if (!Modifier.isStatic(m.getModifiers())) {
                throw new ConfigException(path, className + ".fromConfig must be static");
            }
            return m;
        } catch (NoSuchMethodException e) {
            throw new ConfigException(path, "target " + target + " is known but not available in this build ("
                    + className + " has no fromConfig(ConfigNode, Instantiator))");
        }
    }
}
