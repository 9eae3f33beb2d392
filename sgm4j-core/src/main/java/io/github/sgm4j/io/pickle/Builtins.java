package io.github.sgm4j.io.pickle;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The Python builtins every safe unpickler rebuilds: {@code collections.OrderedDict}, {@code set},
 * {@code frozenset}, {@code bytes}, {@code bytearray} and {@code _codecs.encode} (how protocol 2
 * pickles bytes). Each checks its arguments; nothing else is called.
 */
final class Builtins {

    /** Returned by {@link #call} for a global that is not one of these builtins. */
    static final Object NOT_BUILTIN = new Object();

    private Builtins() {}

    static Object call(PickleGlobal g, PickleTuple args, KeyOrder keys) {
        String m = g.module();
        boolean builtins = m.equals("builtins") || m.equals("__builtin__");
        if (g.is("collections", "OrderedDict") || (builtins && g.name().equals("dict"))) {
            PickleDict d = new PickleDict(keys, g.name().equals("OrderedDict"));
            if (args.size() > 1) {
                throw new PickleException(g + " takes at most 1 argument, got " + args.size());
            }
            if (args.size() == 1 && args.get(0) != null) {
                List<?> pairs = iterable(g, args.get(0));
                keys.chargeItems(pairs.size());
                for (Object pair : pairs) {
                    List<?> kv = pair instanceof PickleTuple t ? t.asList() : pair instanceof PickleList l ? l.items() : null;
                    if (kv == null || kv.size() != 2) {
                        throw new PickleException(g + " argument items must be (key, value) pairs, got "
                                + PickleValues.describe(pair));
                    }
                    d.put(kv.get(0), kv.get(1));
                }
            }
            return d;
        }
        if (builtins && (g.name().equals("set") || g.name().equals("frozenset"))) {
            PickleSet s = new PickleSet(keys, g.name().equals("frozenset"));
            if (args.size() > 1) {
                throw new PickleException(g + " takes at most 1 argument, got " + args.size());
            }
            if (args.size() == 1) {
                List<?> elements = iterable(g, args.get(0));
                keys.chargeItems(elements.size());
                for (Object o : elements) {
                    s.add(o);
                }
            }
            return s;
        }
        if (builtins && (g.name().equals("bytes") || g.name().equals("bytearray"))) {
            if (args.size() == 0) {
                return new PickleBytes(new byte[0]);
            }
            if (args.size() == 1 && args.get(0) instanceof PickleBytes b) {
                return b;
            }
            if (args.size() == 1 && args.get(0) instanceof PickleList l) {
                keys.chargeItems(l.size());
                byte[] out = new byte[l.size()];
                for (int i = 0; i < out.length; i++) {
                    if (!(l.get(i) instanceof Long v) || v < 0 || v > 255) {
                        throw new PickleException(g + " item " + i + " is not an int in 0..255");
                    }
                    out[i] = (byte) (long) v;
                }
                return new PickleBytes(out);
            }
            if (args.size() == 2 && args.get(0) instanceof String s && args.get(1) instanceof String enc) {
                keys.chargeItems(s.length());
                return encode(g, s, enc);
            }
            throw new PickleException(g + " with arguments " + PickleValues.describe(args) + " is not supported");
        }
        if (g.is("_codecs", "encode")) {
            if (args.size() != 2 || !(args.get(0) instanceof String s) || !(args.get(1) instanceof String enc)) {
                throw new PickleException("_codecs.encode takes (str, encoding), got " + PickleValues.describe(args));
            }
            keys.chargeItems(s.length());
            return encode(g, s, enc);
        }
        return NOT_BUILTIN;
    }

    private static PickleBytes encode(PickleGlobal g, String s, String encoding) {
        String e = encoding.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        switch (e) {
            case "latin1", "latin-1", "iso-8859-1", "iso8859-1" -> {
                byte[] out = new byte[s.length()];
                for (int i = 0; i < out.length; i++) {
                    char c = s.charAt(i);
                    if (c > 0xff) {
                        throw new PickleException(g + ": character U+" + Integer.toHexString(c) + " is not latin-1");
                    }
                    out[i] = (byte) c;
                }
                return new PickleBytes(out);
            }
            case "utf-8", "utf8" -> {
                return new PickleBytes(s.getBytes(StandardCharsets.UTF_8));
            }
            case "ascii" -> {
                for (int i = 0; i < s.length(); i++) {
                    if (s.charAt(i) > 0x7f) {
                        throw new PickleException(g + ": character U+" + Integer.toHexString(s.charAt(i)) + " is not ASCII");
                    }
                }
                return new PickleBytes(s.getBytes(StandardCharsets.US_ASCII));
            }
            default -> throw new PickleException(g + ": encoding '" + PickleValues.describe(encoding) + "' is not supported");
        }
    }

    private static List<?> iterable(PickleGlobal g, Object o) {
        if (o instanceof PickleList l) {
            return l.items();
        } else if (o instanceof PickleTuple t) {
            return t.asList();
        } else if (o instanceof PickleSet s) {
            return s.items();
        }
        throw new PickleException(g + " argument is a " + PickleValues.typeName(o) + ", not a list or tuple");
    }
}
