package io.github.sgm4j.config;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OmegaConf-style interpolation: {@code ${a.b.c}} refers to a value by absolute path, {@code
 * ${.x}} to a sibling ({@code ${..x}} to the parent's sibling). A string that is exactly one
 * interpolation takes the referenced value with its type; interpolations inside a longer string are
 * concatenated as text.
 */
final class Interpolation {

    private static final Pattern REF = Pattern.compile("\\$\\{([^${}]+)}");

    private final Map<String, Object> root;
    private final String source;
    private final Deque<String> resolving = new ArrayDeque<>();

    private Interpolation(Map<String, Object> root, String source) {
        this.root = root;
        this.source = source;
    }

    static Object resolve(Map<String, Object> root, String source) {
        Interpolation in = new Interpolation(root, source);
        return in.walk(root, "");
    }

    private Object walk(Object v, String path) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = (String) e.getKey();
                out.put(k, walk(e.getValue(), ConfigNode.join(path, k)));
            }
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < l.size(); i++) {
                out.add(walk(l.get(i), ConfigNode.join(path, Integer.toString(i))));
            }
            return out;
        }
        if (v instanceof String s && s.contains("${")) {
            return interpolate(s, path);
        }
        return v;
    }

    private Object interpolate(String s, String path) {
        Matcher whole = REF.matcher(s);
        if (whole.matches()) {
            return lookup(whole.group(1).trim(), path);
        }
        Matcher m = REF.matcher(s);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            Object v = lookup(m.group(1).trim(), path);
            m.appendReplacement(sb, Matcher.quoteReplacement(String.valueOf(v)));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private Object lookup(String ref, String fromPath) {
        if (ref.contains(":")) {
            throw new ConfigException(fromPath, "resolver interpolation ${" + ref + "} is not supported (" + source + ")");
        }
        String target = absolute(ref, fromPath);
        if (resolving.contains(target)) {
            throw new ConfigException(fromPath, "interpolation cycle: " + String.join(" -> ", resolving) + " -> " + target);
        }
        Object cur = root;
        for (String part : target.split("\\.")) {
            if (cur instanceof Map<?, ?> m && m.containsKey(part)) {
                cur = m.get(part);
            } else if (cur instanceof List<?> l && part.matches("\\d+") && Integer.parseInt(part) < l.size()) {
                cur = l.get(Integer.parseInt(part));
            } else {
                throw new ConfigException(fromPath, "interpolation ${" + ref + "} refers to missing key " + target
                        + " (" + source + ")");
            }
        }
        resolving.push(target);
        try {
            return walk(cur, target);
        } finally {
            resolving.pop();
        }
    }

    private static String absolute(String ref, String fromPath) {
        if (!ref.startsWith(".")) {
            return ref;
        }
        int dots = 0;
        while (dots < ref.length() && ref.charAt(dots) == '.') {
            dots++;
        }
        List<String> parts = new ArrayList<>(List.of(fromPath.split("\\.")));
        // the node itself, then one more level per extra dot
        for (int i = 0; i < dots && !parts.isEmpty(); i++) {
            parts.remove(parts.size() - 1);
        }
        String rest = ref.substring(dots);
        parts.add(rest);
        return String.join(".", parts.stream().filter(p -> !p.isEmpty()).toList());
    }
}
