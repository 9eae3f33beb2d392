package io.github.sgm4j.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.sgm4j.config.ConfigNode;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.noise.ReplayNoiseSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One golden parity case: {@code case.json}, {@code io.safetensors} ({@code input.*}, {@code
 * output.*}, {@code noise.N}) and {@code weights.safetensors}, produced by the Python reference.
 * Arrays live in the case's manager and are released with it.
 */
public final class GoldenCase implements AutoCloseable {

    private final Path dir;
    private final JsonObject json;
    private final NDManager manager;
    private final Map<String, NDArray> io;
    private Map<String, NDArray> weights;

    private GoldenCase(Path dir, JsonObject json, NDManager manager, Map<String, NDArray> io) {
        this.dir = dir;
        this.json = json;
        this.manager = manager;
        this.io = io;
    }

    /** Loads the case in {@code dir} into a sub-manager of {@code parent}. */
    public static GoldenCase load(Path dir, NDManager parent) {
        try {
            JsonObject json = JsonParser.parseString(Files.readString(dir.resolve("case.json"), StandardCharsets.UTF_8))
                    .getAsJsonObject();
            NDManager m = parent.newSubManager();
            Map<String, NDArray> io;
            try (SafeTensorsFile f = SafeTensors.open(dir.resolve("io.safetensors"))) {
                io = f.loadAll(m);
            }
            return new GoldenCase(dir, json, m, io);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read golden case " + dir, e);
        }
    }

    /** The case name (folder name). */
    public String name() {
        return dir.getFileName().toString();
    }

    /** The case folder. */
    public Path dir() {
        return dir;
    }

    /** The parsed {@code case.json}. */
    public JsonObject json() {
        return json;
    }

    /** The manager owning every array of the case; build models in it or in a sub-manager. */
    public NDManager manager() {
        return manager;
    }

    /** {@code params.<key>} of case.json. */
    public JsonElement param(String key) {
        JsonObject p = json.getAsJsonObject("params");
        JsonElement e = p == null ? null : p.get(key);
        if (e == null) {
            throw new IllegalArgumentException(name() + ": case.json has no params." + key);
        }
        return e;
    }

    /** Whether {@code params.<key>} exists. */
    public boolean hasParam(String key) {
        JsonObject p = json.getAsJsonObject("params");
        return p != null && p.has(key) && !p.get(key).isJsonNull();
    }

    /** {@code extra.<key>} of case.json, or null. */
    public JsonElement extra(String key) {
        JsonElement extra = json.get("extra");
        if (extra == null || !extra.isJsonObject()) {
            return null;
        }
        return extra.getAsJsonObject().get(key);
    }

    /** The case's {@code config} as a ConfigNode (a single {@code target}/{@code params} config). */
    public ConfigNode config() {
        JsonElement c = json.get("config");
        if (c == null || c.isJsonNull()) {
            throw new IllegalStateException(name() + ": case.json has no config");
        }
        return ConfigNode.fromJson(c, dir.resolve("case.json") + "#config");
    }

    /** One of several named configs ({@code config.<name>}). */
    public ConfigNode config(String key) {
        return config().getNode(key);
    }

    /** Whether case.json has a non-null config. */
    public boolean hasConfig() {
        JsonElement c = json.get("config");
        return c != null && !c.isJsonNull();
    }

    /** {@code input.<key>}. */
    public NDArray input(String key) {
        return tensor("input." + key);
    }

    /** Whether {@code input.<key>} exists. */
    public boolean hasInput(String key) {
        return io.containsKey("input." + key);
    }

    /** {@code output.<key>}: the expected value. */
    public NDArray expected(String key) {
        return tensor("output." + key);
    }

    /** Whether {@code output.<key>} exists. */
    public boolean hasOutput(String key) {
        return io.containsKey("output." + key);
    }

    /** Any tensor of io.safetensors by full key. */
    public NDArray tensor(String fullKey) {
        NDArray a = io.get(fullKey);
        if (a == null) {
            throw new IllegalArgumentException(name() + ": io.safetensors has no tensor '" + fullKey + "'");
        }
        return a;
    }

    /** The output keys without the {@code output.} prefix, in case.json order. */
    public List<String> outputKeys() {
        List<String> out = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("outputs")) {
            out.add(e.getAsJsonObject().get("key").getAsString().substring("output.".length()));
        }
        return out;
    }

    /** Input keys (without the {@code input.} prefix) that start with {@code prefix}. */
    public List<String> inputKeys(String prefix) {
        List<String> out = new ArrayList<>();
        JsonArray arr = json.getAsJsonArray("inputs");
        if (arr != null) {
            for (JsonElement e : arr) {
                String k = e.getAsJsonObject().get("key").getAsString().substring("input.".length());
                if (k.startsWith(prefix)) {
                    out.add(k);
                }
            }
        }
        return out;
    }

    /** The weights by original state-dict key (empty map when the case has none). */
    public Map<String, NDArray> weights() {
        if (weights == null) {
            Path p = dir.resolve("weights.safetensors");
            if (!Files.exists(p)) {
                weights = new LinkedHashMap<>();
            } else {
                try (SafeTensorsFile f = SafeTensors.open(p)) {
                    weights = f.loadAll(manager);
                }
            }
        }
        return weights;
    }

    /** The tolerance for one output: {@code tolerance_per_output[key]} or {@code tolerance_fp32}. */
    public Tolerance tolerance(String outputKey) {
        JsonElement per = json.get("tolerance_per_output");
        if (per != null && per.isJsonObject() && per.getAsJsonObject().has(outputKey)) {
            return toTolerance(per.getAsJsonObject().getAsJsonObject(outputKey));
        }
        return toTolerance(json.getAsJsonObject("tolerance_fp32"));
    }

    private static Tolerance toTolerance(JsonObject o) {
        return new Tolerance(o.get("rtol").getAsDouble(), o.get("atol").getAsDouble());
    }

    /** A fresh replaying noise source over the case's {@code noise.N} tensors, kinds from case.json. */
    public ReplayNoiseSource noise() {
        List<ReplayNoiseSource.Draw> draws = new ArrayList<>();
        JsonArray arr = json.getAsJsonArray("noise");
        if (arr != null) {
            for (JsonElement e : arr) {
                JsonObject o = e.getAsJsonObject();
                String key = o.get("key").getAsString();
                String kind = o.has("kind") ? o.get("kind").getAsString() : "randn";
                draws.add(new ReplayNoiseSource.Draw(kind, tensor(key)));
            }
        }
        return new ReplayNoiseSource(name(), draws);
    }

    @Override
    public void close() {
        manager.close();
    }
}
