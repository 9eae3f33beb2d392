package io.github.sgm4j.io.pickle;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a pickle (protocols 0 to 5) as data: a stack machine over the opcodes that never executes
 * code from the file.
 *
 * <p>Size: one opcode switch over the whole pickle instruction set with its bounds checks (every
 * length read from the data is checked against the bytes left) reads best in one place.
 *
 * <p>Values are rebuilt as: None {@code null}, bool {@link Boolean}, int {@link Long} (or {@link
 * BigInteger} beyond 64 bits), float {@link Double}, str {@link String}, bytes {@link PickleBytes},
 * tuple {@link PickleTuple}, list {@link PickleList}, dict and {@code collections.OrderedDict} {@link
 * PickleDict}, set and frozenset {@link PickleSet}, a global reference {@link PickleGlobal}. A call
 * (REDUCE, NEWOBJ, INST, OBJ) of {@code collections.OrderedDict}, {@code builtins.set} / {@code
 * frozenset} / {@code bytes} / {@code bytearray} or {@code _codecs.encode} builds the value ({@code
 * copyreg._reconstructor(cls, ...)} of protocols 0 and 1 becomes a placeholder of {@code cls}); a call
 * the {@link PickleResolver} allows is built by it; any other call becomes a {@link PickleObject}
 * placeholder recording the global and its arguments (reported by {@link #foreignGlobals()}). No
 * Java class is looked up by a name from the file and nothing it names is run.
 *
 * <p>Malformed data (truncation, unknown or out-of-band opcodes, stack or mark underflow, a missing
 * memo entry, a length past the end of the data, an unhashable key, a STOP with values left over)
 * raises {@link PickleException} with the byte offset and the opcode. The machine is iterative and
 * every allocation is bounded by the bytes of the pickle, so no input makes it recurse deeply, hang
 * or allocate without bound. An instance reads one pickle.
 */
public final class SafeUnpickler {

    /** Most decimal digits accepted in a text INT/LONG (Python's default limit). */
    static final int MAX_DIGITS = 4300;

    private final PickleResolver resolver;
    private byte[] data;
    private int pos;
    private int opStart;
    private int op = -1;
    private final List<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();
    private final Set<String> foreign = new LinkedHashSet<>();
    private KeyOrder keys;
    private long sequence;
    private boolean done;

    /**
     * Creates an unpickler.
     *
     * @param resolver the format's allow-list and persistent-id resolution
     */
    public SafeUnpickler(PickleResolver resolver) {
        this.resolver = resolver;
    }

    /**
     * Reads {@code pickle} up to its STOP opcode.
     *
     * @param pickle the pickle bytes (not modified; trailing bytes after STOP are ignored, as Python does)
     * @return the unpickled value
     * @throws PickleException naming the byte offset and the opcode when the data is malformed or
     *     uses an unsupported feature
     * @throws IllegalStateException if this instance was already used
     */
    public Object load(byte[] pickle) {
        if (data != null) {
            throw new IllegalStateException("a SafeUnpickler reads one pickle");
        }
        data = pickle;
        keys = new KeyOrder(100_000_000L + 256L * pickle.length, 1_000_000L + 16L * pickle.length);
        try {
            Object result = run();
            keys.disarm();
            done = true;
            return result;
        } catch (PickleException e) {
            if (e.offset() >= 0) {
                throw e;
            }
            throw new PickleException(e.getMessage(), opStart, op, e);
        } catch (RuntimeException e) {
            throw new PickleException("malformed pickle (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")",
                    opStart, op, e);
        }
    }

    /**
     * Where the pickle read by {@link #load} ended: the index just past its STOP opcode (PyTorch's
     * legacy format stores several pickles back to back).
     *
     * @return the number of bytes consumed
     * @throws IllegalStateException if no pickle was read successfully
     */
    public int end() {
        if (!done) {
            throw new IllegalStateException("no pickle was read");
        }
        return pos;
    }

    /**
     * The qualified names of the globals that were called but not allowed (each became a {@link
     * PickleObject}), in order of first use.
     *
     * @return an unmodifiable view
     */
    public Set<String> foreignGlobals() {
        return java.util.Collections.unmodifiableSet(foreign);
    }

    private PickleException err(String message) {
        return new PickleException(message, opStart, op, null);
    }

    private Object run() {
        while (true) {
            if (pos >= data.length) {
                opStart = pos;
                op = -1;
                throw err("pickle data was truncated (no STOP opcode before the end, " + data.length + " bytes)");
            }
            opStart = pos;
            op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> {
                    int proto = u8();
                    if (proto > 5) {
                        throw err("unsupported pickle protocol " + proto + " (0 to 5 are read)");
                    }
                }
                case 0x95 -> {
                    long n = u64();
                    if (n < 0 || n > data.length - pos) {
                        throw err("frame length " + Long.toUnsignedString(n) + " exceeds the " + (data.length - pos) + " bytes left");
                    }
                }
                case '.' -> {
                    if (markCount > 0) {
                        throw err("STOP with " + markCount + " unclosed MARK(s)");
                    }
                    if (stack.size() != 1) {
                        throw err("STOP with " + stack.size() + " values on the stack (expected 1)");
                    }
                    return stack.get(0);
                }
                case '(' -> mark();
                case '0' -> {
                    if (stack.size() > floor()) {
                        stack.remove(stack.size() - 1);
                    } else if (markCount > 0 && marks[markCount - 1] == stack.size()) {
                        markCount--;
                    } else {
                        throw err("POP on an empty stack");
                    }
                }
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'F' -> push(parseFloat(line()));
                case 'G' -> push(Double.longBitsToDouble(bigEndianLong()));
                case 'I' -> {
                    String s = line();
                    push(s.equals("00") ? Boolean.FALSE : s.equals("01") ? Boolean.TRUE : parseInt(s));
                }
                case 'J' -> push((long) s32());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (u8() | (u8() << 8)));
                case 'L' -> {
                    String s = line();
                    push(parseInt(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
                }
                case 0x8a -> push(littleEndianInt(bytes(u8())));
                case 0x8b -> push(littleEndianInt(bytes(length(s32()))));
                case 'S' -> push(utf8(PickleText.unquote(latin1Line()).getBytes(StandardCharsets.ISO_8859_1)));
                case 'T' -> push(utf8(bytes(length(s32()))));
                case 'U' -> push(utf8(bytes(u8())));
                case 'V' -> push(PickleText.rawUnicodeEscape(latin1Line()));
                case 'X' -> push(utf8(bytes(length(u32()))));
                case 0x8c -> push(utf8(bytes(u8())));
                case 0x8d -> push(utf8(bytes(length(u64()))));
                case 'B' -> push(new PickleBytes(bytes(length(u32()))));
                case 'C' -> push(new PickleBytes(bytes(u8())));
                case 0x8e, 0x96 -> push(new PickleBytes(bytes(length(u64()))));
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case ']' -> push(new PickleList());
                case 'l' -> push(new PickleList(popMark()));
                case 'a' -> {
                    Object v = pop();
                    append(peek(), v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    Object target = peek();
                    for (Object v : items) {
                        append(target, v);
                    }
                }
                case ')' -> push(new PickleTuple(new Object[0]));
                case 't' -> push(new PickleTuple(popMark().toArray()));
                case 0x85, 0x86, 0x87 -> {
                    int n = op - 0x84;
                    Object[] items = new Object[n];
                    for (int i = n - 1; i >= 0; i--) {
                        items[i] = pop();
                    }
                    push(new PickleTuple(items));
                }
                case '}' -> push(new PickleDict(keys, false));
                case 'd' -> {
                    List<Object> items = popMark();
                    PickleDict d = new PickleDict(keys, false);
                    setItems(d, items);
                    push(d);
                }
                case 's' -> {
                    Object v = pop();
                    Object k = pop();
                    setItems(peek(), pair(k, v));
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    setItems(peek(), items);
                }
                case 0x8f -> push(new PickleSet(keys, false));
                case 0x90 -> {
                    List<Object> items = popMark();
                    Object target = peek();
                    for (Object v : items) {
                        if (target instanceof PickleSet s && !s.isFrozen()) {
                            s.add(v);
                        } else if (target instanceof PickleObject o) {
                            o.addItem(v);
                        } else {
                            throw err("ADDITEMS on a " + PickleValues.typeName(target));
                        }
                    }
                }
                case 0x91 -> {
                    PickleSet s = new PickleSet(keys, true);
                    for (Object v : popMark()) {
                        s.add(v);
                    }
                    push(s);
                }
                case 'c' -> {
                    String module = line();
                    push(new PickleGlobal(module, line()));
                }
                case 0x93 -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw err("STACK_GLOBAL needs two strings, got " + PickleValues.typeName(module) + " and "
                                + PickleValues.typeName(name));
                    }
                    push(new PickleGlobal(m, n));
                }
                case 'R' -> {
                    Object args = pop();
                    Object callee = pop();
                    push(call(callee, tuple(args, "REDUCE arguments"), null));
                }
                case 0x81 -> {
                    Object args = pop();
                    Object cls = pop();
                    push(call(cls, tuple(args, "NEWOBJ arguments"), null));
                }
                case 0x92 -> {
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof PickleDict kw)) {
                        throw err("NEWOBJ_EX keyword arguments are a " + PickleValues.typeName(kwargs) + ", not a dict");
                    }
                    push(call(cls, tuple(args, "NEWOBJ_EX arguments"), kw));
                }
                case 'i' -> {
                    String module = line();
                    PickleGlobal g = new PickleGlobal(module, line());
                    push(call(g, new PickleTuple(popMark().toArray()), null));
                }
                case 'o' -> {
                    List<Object> items = popMark();
                    if (items.isEmpty()) {
                        throw err("OBJ without a class");
                    }
                    push(call(items.get(0), new PickleTuple(items.subList(1, items.size()).toArray()), null));
                }
                case 'b' -> {
                    Object state = pop();
                    Object target = peek();
                    if (target instanceof PickleObject o) {
                        o.setState(state);
                    } else if (target instanceof PickleDict d) {
                        d.setState(state);
                    } else {
                        throw err("BUILD on a " + PickleValues.typeName(target) + ": only placeholders and dicts take state");
                    }
                }
                case 'P' -> push(resolver.persistentLoad(line()));
                case 'Q' -> push(resolver.persistentLoad(pop()));
                case 'g' -> push(get(parseIndex(line())));
                case 'h' -> push(get(u8()));
                case 'j' -> push(get(u32()));
                case 'p' -> put(parseIndex(line()));
                case 'q' -> put(u8());
                case 'r' -> put(u32());
                case 0x94 -> put(memo.size());
                case 0x82, 0x83, 0x84 -> throw err("extension-registry opcodes (copyreg) are not supported");
                case 0x97 -> throw err("out-of-band buffers (pickle protocol 5 NEXT_BUFFER) are not supported");
                case 0x98 -> peek();
                default -> throw err("unknown opcode");
            }
        }
    }

    private static List<Object> pair(Object k, Object v) {
        List<Object> l = new ArrayList<>(2);
        l.add(k);
        l.add(v);
        return l;
    }

    private Object call(Object callee, PickleTuple args, PickleDict kwargs) {
        if (callee instanceof PickleGlobal g) {
            if ((g.is("copy_reg", "_reconstructor") || g.is("copyreg", "_reconstructor")) && args.size() == 3
                    && args.get(0) instanceof PickleGlobal cls) {
                // protocols 0 and 1 instantiate classes through copyreg: record the class itself
                foreign.add(cls.qualifiedName());
                return new PickleObject(sequence++, cls, new PickleTuple(new Object[0]), null);
            }
            if (kwargs == null || kwargs.size() == 0) {
                Object builtin = Builtins.call(g, args, keys);
                if (builtin != Builtins.NOT_BUILTIN) {
                    return builtin;
                }
                if (resolver.allows(g)) {
                    return resolver.call(g, args);
                }
            }
            foreign.add(g.qualifiedName());
            return new PickleObject(sequence++, g, args, kwargs);
        }
        if (callee instanceof PickleObject) {
            return new PickleObject(sequence++, callee, args, kwargs);
        }
        throw err("call of a " + PickleValues.typeName(callee) + ", which is not callable");
    }

    private void append(Object target, Object v) {
        if (target instanceof PickleList l) {
            l.add(v);
        } else if (target instanceof PickleObject o) {
            o.addItem(v);
        } else {
            throw err("APPEND on a " + PickleValues.typeName(target));
        }
    }

    private void setItems(Object target, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw err("odd number of items (" + items.size() + ") for dict keys and values");
        }
        for (int i = 0; i < items.size(); i += 2) {
            if (target instanceof PickleDict d) {
                d.put(items.get(i), items.get(i + 1));
            } else if (target instanceof PickleObject o) {
                o.addEntry(items.get(i), items.get(i + 1));
            } else {
                throw err("SETITEM on a " + PickleValues.typeName(target));
            }
        }
    }

    private PickleTuple tuple(Object o, String what) {
        if (o instanceof PickleTuple t) {
            return t;
        }
        throw err(what + " are a " + PickleValues.typeName(o) + ", not a tuple");
    }

    // ---- stack, marks, memo

    private int floor() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        if (stack.size() <= floor()) {
            throw err(markCount > 0 ? "stack underflow: the value expected here is a MARK" : "stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.size() <= floor()) {
            throw err(markCount > 0 ? "stack underflow: the value expected here is a MARK" : "stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private void mark() {
        if (markCount == marks.length) {
            marks = java.util.Arrays.copyOf(marks, marks.length * 2);
        }
        marks[markCount++] = stack.size();
    }

    private List<Object> popMark() {
        if (markCount == 0) {
            throw err("no MARK on the stack");
        }
        int m = marks[--markCount];
        List<Object> tail = stack.subList(m, stack.size());
        List<Object> items = new ArrayList<>(tail);
        tail.clear();
        return items;
    }

    private Object get(long index) {
        Object key = index;
        if (!memo.containsKey(key)) {
            throw err("memo entry " + index + " was never stored");
        }
        return memo.get(key);
    }

    private void put(long index) {
        if (index < 0) {
            throw err("negative memo index " + index);
        }
        memo.put(index, peek());
    }

    // ---- reading

    private void need(long n) {
        if (n < 0 || n > data.length - pos) {
            throw err("pickle data was truncated: " + Long.toUnsignedString(n) + " bytes needed, " + (data.length - pos) + " left");
        }
    }

    private int u8() {
        need(1);
        return data[pos++] & 0xff;
    }

    private int s32() {
        need(4);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16 | (data[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() {
        return s32() & 0xffffffffL;
    }

    private long u64() {
        need(8);
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (data[pos + i] & 0xff);
        }
        pos += 8;
        return v;
    }

    private long bigEndianLong() {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (data[pos + i] & 0xff);
        }
        pos += 8;
        return v;
    }

    /** A length read from the data: non-negative and within the bytes left. */
    private int length(long n) {
        need(n);
        return (int) n;
    }

    private byte[] bytes(int n) {
        need(n);
        byte[] b = java.util.Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return b;
    }

    /** A text line as Latin-1 (UNICODE's raw-unicode-escape and STRING's repr are byte-oriented). */
    private String latin1Line() {
        int start = pos;
        String utf = line();
        return new String(data, start, utf.isEmpty() ? 0 : pos - 1 - start, StandardCharsets.ISO_8859_1);
    }

    private String line() {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') {
            pos++;
        }
        if (pos >= data.length) {
            throw err("pickle data was truncated inside a text line");
        }
        String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    private String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b))
                    .toString();
        } catch (CharacterCodingException e) {
            throw err("string is not valid UTF-8");
        }
    }

    private static Object littleEndianInt(byte[] le) {
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        return normalize(new BigInteger(be));
    }

    static Object normalize(BigInteger b) {
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    private Object parseInt(String s) {
        String t = s.strip();
        int digits = t.startsWith("-") || t.startsWith("+") ? t.length() - 1 : t.length();
        if (digits <= 0 || digits > MAX_DIGITS) {
            throw err("integer text of " + digits + " digits (1 to " + MAX_DIGITS + " are read)");
        }
        try {
            return normalize(new BigInteger(t));
        } catch (NumberFormatException e) {
            throw err("not an integer: '" + PickleValues.describe(t) + "'");
        }
    }

    private long parseIndex(String s) {
        Object v = parseInt(s);
        if (!(v instanceof Long l) || l < 0) {
            throw err("bad memo index '" + PickleValues.describe(s) + "'");
        }
        return l;
    }

    private Double parseFloat(String s) {
        String t = s.strip();
        switch (t) {
            case "nan", "-nan" -> {
                return Double.NaN;
            }
            case "inf" -> {
                return Double.POSITIVE_INFINITY;
            }
            case "-inf" -> {
                return Double.NEGATIVE_INFINITY;
            }
            default -> { }
        }
        if (t.isEmpty() || t.length() > 1000 || !t.matches("[-+0-9.eE]+")) {
            throw err("not a float: '" + PickleValues.describe(t) + "'");
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw err("not a float: '" + PickleValues.describe(t) + "'");
        }
    }
}
