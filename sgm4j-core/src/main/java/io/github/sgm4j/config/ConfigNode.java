package io.github.sgm4j.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * An immutable view of a YAML mapping at a path of a loaded config (the Java side of OmegaConf's
 * {@code DictConfig}). Typed getters take the YAML key; every error is a {@link ConfigException}
 * naming the full path ({@code model.params.network_config.params.channel_mult: expected a list of
 * integers, got "1,2"}).
 *
 * <p>OmegaConf interpolations {@code ${a.b.c}} (absolute) and {@code ${.sibling}} (relative) are
 * resolved when the document is loaded. Each node records which keys were read, so that a factory
 * can reject keys it never read ({@link #checkAllKeysRead}) — a misspelled parameter is an error
 * that suggests the closest known key, never a silently ignored value.
 *
 * <p>Size: one file on purpose: the typed getters, interpolation, read-key tracking and path-naming
 * errors share the node's private state; splitting them would widen that state's visibility.
 */
public final class ConfigNode {

    private final Map<String, Object> map;
    private final String path;
    private final String source;
    private final Map<Map<String, Object>, Set<String>> readKeys;

    private ConfigNode(Map<String, Object> map, String path, String source, Map<Map<String, Object>, Set<String>> readKeys) {
        this.map = map;
        this.path = path;
        this.source = source;
        this.readKeys = readKeys;
    }

    // ------------------------------------------------------------------ loading

    /**
     * Loads a YAML file (top level must be a mapping), resolving interpolations.
     *
     * @param file the YAML file, read as UTF-8
     * @return the root node, its source named by {@code file}
     * @throws UncheckedIOException if the file cannot be read
     * @throws ConfigException if the YAML is invalid, the top level is not a mapping or an interpolation
     *     cannot be resolved
     */
    public static ConfigNode load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Classpath folder of the configs shipped with sgm4j (the repository's {@code configs/}). */
    public static final String RESOURCE_DIR = "io/github/sgm4j/configs/";

    /**
     * Loads one of the configs shipped inside the sgm4j-core jar (the repository's {@code configs/}
     * folder), e.g. {@code loadResource("mnist_tiny.yaml")}.
     *
     * @param name the file name inside {@code configs/}
     * @return the parsed config, its source named {@code classpath:io/github/sgm4j/configs/NAME}
     * @throws ConfigException when no shipped config has that name (the message lists the shipped ones)
     */
    public static ConfigNode loadResource(String name) {
        String resource = RESOURCE_DIR + name;
        ClassLoader loader = ConfigNode.class.getClassLoader();
        try (java.io.InputStream in = loader.getResourceAsStream(resource)) {
            if (in == null) {
                throw new ConfigException("", "no config named '" + name + "' is shipped with sgm4j (shipped: "
                        + String.join(", ", shippedConfigs()) + ")");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "classpath:" + resource);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config resource " + resource + ": " + e.getMessage(), e);
        }
    }

    /**
     * The names of the configs shipped inside the sgm4j-core jar, for {@link #loadResource}.
     *
     * @return the file names, sorted
     */
    public static java.util.List<String> shippedConfigs() {
        try (java.io.InputStream in = ConfigNode.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + "index.txt")) {
            if (in == null) {
                return java.util.List.of();
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE_DIR + "index.txt: " + e.getMessage(), e);
        }
    }

    /**
     * Parses YAML text (top level must be a mapping), resolving interpolations.
     *
     * @param yaml the document
     * @param sourceName the name used in messages (a file name, {@code classpath:...})
     * @return the root node
     * @throws ConfigException if the YAML is invalid (duplicate keys included), the top level is not a
     *     mapping or an interpolation cannot be resolved
     */
    public static ConfigNode parse(String yaml, String sourceName) {
        Object doc;
        try {
            LoaderOptions opts = new LoaderOptions();
            opts.setAllowDuplicateKeys(false);
            doc = new Yaml(new SafeConstructor(opts)).load(yaml);
        } catch (YAMLException e) {
            throw new ConfigException("", "invalid YAML in " + sourceName + ": " + e.getMessage(), e);
        }
        return fromObject(doc, sourceName);
    }

    /**
     * Wraps plain Java maps/lists/scalars (a mapping at the top), resolving interpolations.
     *
     * @param map the mapping; nested values may be maps, lists, strings, numbers, booleans or null
     * @return the root node, source {@code <map>}
     * @throws ConfigException if an interpolation cannot be resolved
     */
    public static ConfigNode of(Map<String, ?> map) {
        return fromObject(map, "<map>");
    }

    /**
     * Builds a node from JSON (e.g. a golden case's {@code config}); "inf" strings read as infinity.
     *
     * @param json a JSON object
     * @param sourceName the name used in messages
     * @return the root node
     * @throws ConfigException if the top level is not an object or an interpolation cannot be resolved
     */
    public static ConfigNode fromJson(JsonElement json, String sourceName) {
        return fromObject(fromJsonValue(json), sourceName);
    }

    private static Object fromJsonValue(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> en : ((JsonObject) e).entrySet()) {
                m.put(en.getKey(), fromJsonValue(en.getValue()));
            }
            return m;
        }
        if (e.isJsonArray()) {
            List<Object> l = new ArrayList<>();
            for (JsonElement x : e.getAsJsonArray()) {
                l.add(fromJsonValue(x));
            }
            return l;
        }
        JsonPrimitive p = e.getAsJsonPrimitive();
        if (p.isBoolean()) {
            return p.getAsBoolean();
        }
        if (p.isNumber()) {
            String s = p.getAsString();
            if (s.contains(".") || s.contains("e") || s.contains("E")) {
                return p.getAsDouble();
            }
            long v = p.getAsLong();
            if (v == (int) v) {
                return Integer.valueOf((int) v);
            }
            return Long.valueOf(v);
        }
        return p.getAsString();
    }

    @SuppressWarnings("unchecked")
    private static ConfigNode fromObject(Object doc, String sourceName) {
        if (!(doc instanceof Map)) {
            throw new ConfigException("", sourceName + ": the top level must be a mapping, got "
                    + (doc == null ? "an empty document" : describe(doc)));
        }
        Map<String, Object> root = (Map<String, Object>) normalize(doc, "", sourceName);
        Object resolved = Interpolation.resolve(root, sourceName);
        return new ConfigNode((Map<String, Object>) resolved, "", sourceName, new IdentityHashMap<>());
    }

    /** Deep-copies into LinkedHashMaps/ArrayLists with String keys. */
    private static Object normalize(Object o, String path, String source) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = String.valueOf(e.getKey());
                out.put(k, normalize(e.getValue(), join(path, k), source));
            }
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < l.size(); i++) {
                out.add(normalize(l.get(i), join(path, Integer.toString(i)), source));
            }
            return out;
        }
        return o;
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    static String describe(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof String s) {
            return "\"" + s + "\"";
        }
        if (v instanceof Map) {
            return "a mapping";
        }
        if (v instanceof List<?> l) {
            return "a list " + l;
        }
        return v.toString();
    }

    // ------------------------------------------------------------------ structure

    /**
     * The dotted path of this node ({@code ""} for the root).
     *
     * @return the path, e.g. {@code model.params}
     */
    public String path() {
        return path;
    }

    /**
     * The name of the file or source this config came from.
     *
     * @return the source name
     */
    public String source() {
        return source;
    }

    /**
     * The full path of {@code key} under this node.
     *
     * @param key a key of this mapping
     * @return {@code path.key}, or {@code key} at the root
     */
    public String pathOf(String key) {
        return join(path, key);
    }

    /**
     * The keys of this mapping, in document order.
     *
     * @return an unmodifiable view
     */
    public Set<String> keys() {
        return Collections.unmodifiableSet(map.keySet());
    }

    /**
     * Whether {@code key} is present (possibly null). Does not count as reading it.
     *
     * @param key the key
     * @return whether the mapping contains it
     */
    public boolean has(String key) {
        return map.containsKey(key);
    }

    /**
     * Whether {@code key} is absent or null.
     *
     * @param key the key; marked read
     * @return true when the key is missing or its value is null
     */
    public boolean isNull(String key) {
        markRead(key);
        return map.get(key) == null;
    }

    /**
     * Whether this mapping has no keys.
     *
     * @return whether the mapping is empty
     */
    public boolean isEmpty() {
        return map.isEmpty();
    }

    /**
     * The raw value of {@code key} (maps, lists, strings, numbers, booleans, null), marked read.
     *
     * @param key the key
     * @return the value, or null when absent; maps and lists are the document's own objects (do not modify them)
     */
    public Object raw(String key) {
        markRead(key);
        return map.get(key);
    }

    /**
     * An unmodifiable plain-Java view of the whole mapping (nothing is marked read).
     *
     * @return the view
     */
    public Map<String, Object> asMap() {
        return Collections.unmodifiableMap(map);
    }

    private void markRead(String key) {
        readKeys.computeIfAbsent(map, k -> new LinkedHashSet<>()).add(key);
    }

    /**
     * Marks keys as read without reading them (training-only keys a factory accepts and ignores).
     *
     * @param keys the keys to accept; absent ones are fine
     * @return this node
     */
    public ConfigNode ignore(String... keys) {
        for (String k : keys) {
            markRead(k);
        }
        return this;
    }

    private Object require(String key) {
        markRead(key);
        if (!map.containsKey(key)) {
            throw new ConfigException(pathOf(key), "required key is missing" + suggestion(key, map.keySet()));
        }
        return map.get(key);
    }

    private ConfigException typeError(String key, String expected, Object got) {
        return new ConfigException(pathOf(key), "expected " + expected + ", got " + describe(got));
    }

    // ------------------------------------------------------------------ scalars

    /**
     * A required integer.
     *
     * @param key the key
     * @return the value
     * @throws ConfigException if the key is missing or not an integer within int range
     */
    public int getInt(String key) {
        return toInt(key, require(key));
    }

    /**
     * An optional integer ({@code def} when absent or null).
     *
     * @param key the key
     * @param def the default
     * @return the value, or {@code def}
     * @throws ConfigException if the value is not an integer within int range
     */
    public int getInt(String key, int def) {
        Object v = raw(key);
        return v == null ? def : toInt(key, v);
    }

    private int toInt(String key, Object v) {
        if (v instanceof Integer i) {
            return i;
        }
        if (v instanceof Long l && l == (int) (long) l) {
            return (int) (long) l;
        }
        if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite() && Math.abs(d) < Integer.MAX_VALUE) {
            return (int) (double) d;
        }
        throw typeError(key, "an integer", v);
    }

    /**
     * A required long.
     *
     * @param key the key
     * @return the value
     * @throws ConfigException if the key is missing or not an integer
     */
    public long getLong(String key) {
        return toLong(key, require(key));
    }

    /**
     * An optional long.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return the value, or {@code def}
     * @throws ConfigException if the value is not an integer
     */
    public long getLong(String key, long def) {
        Object v = raw(key);
        return v == null ? def : toLong(key, v);
    }

    private long toLong(String key, Object v) {
        if (v instanceof Integer || v instanceof Long) {
            return ((Number) v).longValue();
        }
        if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
            return (long) (double) d;
        }
        throw typeError(key, "an integer", v);
    }

    /**
     * A required number (ints, floats, numeric strings such as {@code 1e-4}, "inf").
     *
     * @param key the key
     * @return the value
     * @throws ConfigException if the key is missing or not a number
     */
    public double getDouble(String key) {
        return toDouble(key, require(key));
    }

    /**
     * An optional number.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return the value, or {@code def}
     * @throws ConfigException if the value is not a number
     */
    public double getDouble(String key, double def) {
        Object v = raw(key);
        return v == null ? def : toDouble(key, v);
    }

    /**
     * An optional number, or null when absent or null.
     *
     * @param key the key
     * @return the value, or null
     * @throws ConfigException if the value is not a number
     */
    public Double getDoubleOrNull(String key) {
        Object v = raw(key);
        return v == null ? null : toDouble(key, v);
    }

    private double toDouble(String key, Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        if (v instanceof String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            switch (t) {
                case "inf", "+inf", ".inf", "+.inf", "infinity" -> {
                    return Double.POSITIVE_INFINITY;
                }
                case "-inf", "-.inf", "-infinity" -> {
                    return Double.NEGATIVE_INFINITY;
                }
                case "nan", ".nan" -> {
                    return Double.NaN;
                }
                default -> {
                    try {
                        return Double.parseDouble(t);
                    } catch (NumberFormatException e) {
                        throw typeError(key, "a number", v);
                    }
                }
            }
        }
        throw typeError(key, "a number", v);
    }

    /**
     * A required boolean.
     *
     * @param key the key
     * @return the value
     * @throws ConfigException if the key is missing or not a YAML boolean
     */
    public boolean getBoolean(String key) {
        return toBoolean(key, require(key));
    }

    /**
     * An optional boolean.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return the value, or {@code def}
     * @throws ConfigException if the value is not a YAML boolean
     */
    public boolean getBoolean(String key, boolean def) {
        Object v = raw(key);
        return v == null ? def : toBoolean(key, v);
    }

    private boolean toBoolean(String key, Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        throw typeError(key, "true or false", v);
    }

    /**
     * A required string.
     *
     * @param key the key
     * @return the value
     * @throws ConfigException if the key is missing or not a string
     */
    public String getString(String key) {
        Object v = require(key);
        if (v instanceof String s) {
            return s;
        }
        throw typeError(key, "a string", v);
    }

    /**
     * An optional string ({@code def} when absent or null).
     *
     * @param key the key
     * @param def the default
     * @return the value, or {@code def}
     * @throws ConfigException if the value is not a string
     */
    public String getString(String key, String def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof String s) {
            return s;
        }
        throw typeError(key, "a string", v);
    }

    // ------------------------------------------------------------------ lists

    /**
     * A required list of integers.
     *
     * @param key the key
     * @return an unmodifiable list
     * @throws ConfigException if the key is missing or not a list of integers
     */
    public List<Integer> getIntList(String key) {
        return toIntList(key, require(key));
    }

    /**
     * An optional list of integers ({@code def} when absent or null).
     *
     * @param key the key
     * @param def the default
     * @return an unmodifiable list, or {@code def}
     * @throws ConfigException if the value is not a list of integers
     */
    public List<Integer> getIntList(String key, List<Integer> def) {
        Object v = raw(key);
        return v == null ? def : toIntList(key, v);
    }

    /**
     * An integer or a list of integers (e.g. {@code num_res_blocks}); a single int becomes a one-element
     * list.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return the list, or {@code def}
     * @throws ConfigException if the value is neither an integer nor a list of integers
     */
    public List<Integer> getIntOrIntList(String key, List<Integer> def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Integer || v instanceof Long) {
            return List.of(toInt(key, v));
        }
        return toIntList(key, v);
    }

    private List<Integer> toIntList(String key, Object v) {
        if (!(v instanceof List<?> l)) {
            throw typeError(key, "a list of integers", v);
        }
        List<Integer> out = new ArrayList<>();
        for (Object o : l) {
            if (o instanceof Integer i) {
                out.add(i);
            } else if (o instanceof Long x && x == (int) (long) x) {
                out.add((int) (long) x);
            } else {
                throw typeError(key, "a list of integers", v);
            }
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * A required list of numbers.
     *
     * @param key the key
     * @return an unmodifiable list (numeric strings such as {@code 1e-4} are parsed)
     * @throws ConfigException if the key is missing or not a list of numbers
     */
    public List<Double> getDoubleList(String key) {
        return toDoubleList(key, require(key));
    }

    /**
     * An optional list of numbers.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return an unmodifiable list, or {@code def}
     * @throws ConfigException if the value is not a list of numbers
     */
    public List<Double> getDoubleList(String key, List<Double> def) {
        Object v = raw(key);
        return v == null ? def : toDoubleList(key, v);
    }

    private List<Double> toDoubleList(String key, Object v) {
        if (!(v instanceof List<?> l)) {
            throw typeError(key, "a list of numbers", v);
        }
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            Object o = l.get(i);
            if (o instanceof Number n) {
                out.add(n.doubleValue());
            } else if (o instanceof String) {
                out.add(toDouble(key + "." + i, o));
            } else {
                throw typeError(key, "a list of numbers", v);
            }
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * A required list of strings.
     *
     * @param key the key
     * @return an unmodifiable list
     * @throws ConfigException if the key is missing or not a list of strings
     */
    public List<String> getStringList(String key) {
        return toStringList(key, require(key));
    }

    /**
     * An optional list of strings; a single string becomes a one-element list.
     *
     * @param key the key
     * @param def the default when the key is absent or null
     * @return the list, or {@code def}
     * @throws ConfigException if the value is neither a string nor a list of strings
     */
    public List<String> getStringList(String key, List<String> def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof String s) {
            return List.of(s);
        }
        return toStringList(key, v);
    }

    private List<String> toStringList(String key, Object v) {
        if (!(v instanceof List<?> l)) {
            throw typeError(key, "a list of strings", v);
        }
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof String s)) {
                throw typeError(key, "a list of strings", v);
            }
            out.add(s);
        }
        return Collections.unmodifiableList(out);
    }

    // ------------------------------------------------------------------ nesting

    /**
     * A required child mapping.
     *
     * @param key the key
     * @return the child, sharing this document's read-key tracking
     * @throws ConfigException if the key is missing or not a mapping
     */
    @SuppressWarnings("unchecked")
    public ConfigNode getNode(String key) {
        Object v = require(key);
        if (!(v instanceof Map)) {
            throw typeError(key, "a mapping", v);
        }
        return new ConfigNode((Map<String, Object>) v, pathOf(key), source, readKeys);
    }

    /**
     * An optional child mapping (null when absent or null).
     *
     * @param key the key
     * @return the child, or null
     * @throws ConfigException if the value is not a mapping
     */
    public ConfigNode getNodeOrNull(String key) {
        Object v = raw(key);
        return v == null ? null : getNode(key);
    }

    /**
     * An optional child mapping; an empty mapping (at the key's path) when absent or null.
     *
     * @param key the key
     * @return the child, or a new empty node
     * @throws ConfigException if the value is not a mapping
     */
    public ConfigNode getNodeOrEmpty(String key) {
        Object v = raw(key);
        if (v == null) {
            return new ConfigNode(new LinkedHashMap<>(), pathOf(key), source, readKeys);
        }
        return getNode(key);
    }

    /**
     * A required list of mappings.
     *
     * @param key the key
     * @return the children, at paths {@code key.0}, {@code key.1}, ...
     * @throws ConfigException if the key is missing or not a list of mappings
     */
    @SuppressWarnings("unchecked")
    public List<ConfigNode> getList(String key) {
        Object v = require(key);
        if (!(v instanceof List<?> l)) {
            throw typeError(key, "a list of mappings", v);
        }
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            Object o = l.get(i);
            if (!(o instanceof Map)) {
                throw new ConfigException(pathOf(key) + "." + i, "expected a mapping, got " + describe(o));
            }
            out.add(new ConfigNode((Map<String, Object>) o, pathOf(key) + "." + i, source, readKeys));
        }
        return out;
    }

    /**
     * An optional list of mappings (empty when absent or null).
     *
     * @param key the key
     * @return the children, or an empty list
     * @throws ConfigException if the value is not a list of mappings
     */
    public List<ConfigNode> getListOrEmpty(String key) {
        return raw(key) == null ? List.of() : getList(key);
    }

    /**
     * Whether the value at {@code key} is a mapping.
     *
     * @param key the key (not marked read)
     * @return whether the value is a mapping
     */
    public boolean isNode(String key) {
        return map.get(key) instanceof Map;
    }

    /**
     * Whether the value at {@code key} is a list.
     *
     * @param key the key (not marked read)
     * @return whether the value is a list
     */
    public boolean isList(String key) {
        return map.get(key) instanceof List;
    }

    // ------------------------------------------------------------------ unread keys

    /**
     * Keys of this mapping that were never read.
     *
     * @return the keys in document order
     */
    public List<String> unreadKeys() {
        Set<String> read = readKeys.getOrDefault(map, Set.of());
        List<String> out = new ArrayList<>();
        for (String k : map.keySet()) {
            if (!read.contains(k)) {
                out.add(k);
            }
        }
        return out;
    }

    /**
     * Throws a ConfigException listing every key of this mapping that was neither read nor declared
     * ignored, each with the closest key that was read (a misspelling hint).
     *
     * @param known further keys offered as suggestions (e.g. every parameter the factory understands)
     * @throws ConfigException if any key is unread
     */
    public void checkAllKeysRead(Set<String> known) {
        List<String> unread = unreadKeys();
        if (unread.isEmpty()) {
            return;
        }
        Set<String> candidates = new LinkedHashSet<>(readKeys.getOrDefault(map, Set.of()));
        candidates.addAll(known);
        StringBuilder sb = new StringBuilder();
        for (String k : unread) {
            sb.append(sb.length() == 0 ? "" : "; ").append(pathOf(k)).append(suggestion(k, candidates));
        }
        throw new ConfigException(path, "unknown parameter(s): " + sb);
    }

    static String suggestion(String key, Iterable<String> candidates) {
        List<String> close = Suggest.closest(key, candidates, 3);
        return close.isEmpty() ? "" : " (did you mean " + String.join(", ", close) + "?)";
    }

    @Override
    public String toString() {
        return "ConfigNode(" + (path.isEmpty() ? "<root>" : path) + " of " + source + ": " + map.keySet() + ")";
    }
}
