package io.github.sgm4j.io.pickle;

import java.math.BigInteger;
import java.util.List;

/** Short, bounded descriptions of unpickled values (for messages: never deep, never long, never cyclic). */
public final class PickleValues {

    private static final int MAX_CHARS = 200;
    private static final int MAX_DEPTH = 4;
    private static final int MAX_ITEMS = 6;

    private PickleValues() {}

    /**
     * A Python-like rendering of {@code value}, cut at a few levels and about 200 characters.
     *
     * @param value any unpickled value
     * @return the description, e.g. {@code posix.system('touch /tmp/x')}
     */
    public static String describe(Object value) {
        StringBuilder sb = new StringBuilder();
        render(sb, value, 0);
        return sb.length() > MAX_CHARS ? sb.substring(0, MAX_CHARS) + "..." : sb.toString();
    }

    /**
     * The Python type name of an unpickled value ({@code dict}, {@code tuple}, {@code str}, ..., or the
     * global of a placeholder).
     *
     * @param value any unpickled value
     * @return the type name
     */
    public static String typeName(Object value) {
        if (value == null) {
            return "NoneType";
        } else if (value instanceof Boolean) {
            return "bool";
        } else if (value instanceof Long || value instanceof BigInteger) {
            return "int";
        } else if (value instanceof Double) {
            return "float";
        } else if (value instanceof String) {
            return "str";
        } else if (value instanceof PickleBytes) {
            return "bytes";
        } else if (value instanceof PickleTuple) {
            return "tuple";
        } else if (value instanceof PickleList) {
            return "list";
        } else if (value instanceof PickleDict d) {
            return d.isOrdered() ? "OrderedDict" : "dict";
        } else if (value instanceof PickleSet s) {
            return s.isFrozen() ? "frozenset" : "set";
        } else if (value instanceof PickleGlobal) {
            return "global";
        } else if (value instanceof PickleObject o) {
            return o.global().qualifiedName() + " object";
        }
        return value.getClass().getSimpleName();
    }

    private static void render(StringBuilder sb, Object v, int depth) {
        if (sb.length() > MAX_CHARS) {
            return;
        }
        if (depth > MAX_DEPTH) {
            sb.append("...");
            return;
        }
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (v instanceof String s) {
            sb.append('\'').append(s.length() > MAX_CHARS ? s.substring(0, MAX_CHARS) : s).append('\'');
        } else if (v instanceof PickleBytes b) {
            sb.append("b<").append(b.length()).append(" bytes>");
        } else if (v instanceof PickleTuple t) {
            items(sb, "(", t.asList(), ")", depth);
        } else if (v instanceof PickleList l) {
            items(sb, "[", l.items(), "]", depth);
        } else if (v instanceof PickleSet s) {
            items(sb, s.isFrozen() ? "frozenset({" : "{", s.items(), s.isFrozen() ? "})" : "}", depth);
        } else if (v instanceof PickleDict d) {
            sb.append('{');
            for (int i = 0; i < d.size() && i < MAX_ITEMS; i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                render(sb, d.keys().get(i), depth + 1);
                sb.append(": ");
                render(sb, d.values().get(i), depth + 1);
            }
            sb.append(d.size() > MAX_ITEMS ? ", ...}" : "}");
        } else if (v instanceof PickleObject o) {
            if (o.callee() instanceof PickleObject) {
                render(sb, o.callee(), depth + 1);
            } else {
                sb.append(o.global().qualifiedName());
            }
            items(sb, "(", o.args().asList(), ")", depth);
        } else if (v instanceof Long || v instanceof BigInteger || v instanceof Double || v instanceof PickleGlobal) {
            String s = v.toString();
            sb.append(s.length() > MAX_CHARS ? s.substring(0, MAX_CHARS) : s);
        } else {
            sb.append(v);
        }
    }

    private static void items(StringBuilder sb, String open, List<?> items, String close, int depth) {
        sb.append(open);
        for (int i = 0; i < items.size() && i < MAX_ITEMS; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            render(sb, items.get(i), depth + 1);
        }
        sb.append(items.size() > MAX_ITEMS ? ", ..." : "").append(close);
    }
}
