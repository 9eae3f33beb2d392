package io.github.sgm4j.io.pickle;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The total order of dictionary keys and set elements (dictionaries are ordered maps, so a pickle
 * cannot flood hash buckets), charged against a work budget so that no pickle makes key comparisons
 * run for long. Only Python-hashable values are keys: None, bool, int, float, str, bytes, globals,
 * placeholder objects (by identity) and tuples of these.
 */
final class KeyOrder implements Comparator<Object> {

    private long budget;
    private long items;

    /**
     * @param budget the key-comparison work allowed (characters and elements compared)
     * @param items the elements and bytes the builtins may materialize from existing values (a pickle
     *     can call {@code set(x)} or {@code _codecs.encode(s)} on one memoized value many times)
     */
    KeyOrder(long budget, long items) {
        this.budget = budget;
        this.items = items;
    }

    /** Charges {@code n} elements or bytes built by a builtin from existing values. */
    void chargeItems(long n) {
        items -= n;
        if (items < 0) {
            throw new PickleException("the builtins' copies of existing values exceed the size budget (a pickle built"
                    + " to exhaust memory)");
        }
    }

    /** Lifts the budget (after loading, lookups by the caller are not charged). */
    void disarm() {
        budget = Long.MAX_VALUE;
    }

    static boolean isHashableLeaf(Object o) {
        return o == null || o instanceof Boolean || o instanceof Long || o instanceof BigInteger || o instanceof Double
                || o instanceof String || o instanceof PickleBytes || o instanceof PickleGlobal || o instanceof PickleObject;
    }

    static boolean isKey(Object o) {
        return o instanceof PickleTuple t ? t.hashable() : isHashableLeaf(o);
    }

    private static int rank(Object o) {
        if (o == null) {
            return 0;
        } else if (o instanceof Boolean) {
            return 1;
        } else if (o instanceof Long || o instanceof BigInteger) {
            return 2;
        } else if (o instanceof Double) {
            return 3;
        } else if (o instanceof String) {
            return 4;
        } else if (o instanceof PickleBytes) {
            return 5;
        } else if (o instanceof PickleTuple) {
            return 6;
        } else if (o instanceof PickleGlobal) {
            return 7;
        } else if (o instanceof PickleObject) {
            return 8;
        }
        throw new PickleException("unhashable type " + PickleValues.typeName(o) + " used as a dict key or set element");
    }

    private void charge(long n) {
        budget -= n;
        if (budget < 0) {
            throw new PickleException("comparing dictionary keys exceeds the work budget (a pickle built to be slow)");
        }
    }

    @Override
    public int compare(Object a, Object b) {
        if (a == b) {
            return 0;
        }
        int ra = rank(a);
        int rb = rank(b);
        if (ra != rb) {
            return Integer.compare(ra, rb);
        }
        charge(1);
        switch (ra) {
            case 1:
                return Boolean.compare((Boolean) a, (Boolean) b);
            case 2:
                return big(a).compareTo(big(b));
            case 3:
                return Double.compare((Double) a, (Double) b);
            case 4: {
                String x = (String) a;
                String y = (String) b;
                charge(Math.min(x.length(), y.length()));
                return x.compareTo(y);
            }
            case 5: {
                byte[] x = ((PickleBytes) a).raw();
                byte[] y = ((PickleBytes) b).raw();
                charge(Math.min(x.length, y.length));
                return Arrays.compareUnsigned(x, y);
            }
            case 6: {
                PickleTuple x = (PickleTuple) a;
                PickleTuple y = (PickleTuple) b;
                int n = Math.min(x.size(), y.size());
                for (int i = 0; i < n; i++) {
                    int c = compare(x.get(i), y.get(i));
                    if (c != 0) {
                        return c;
                    }
                }
                return Integer.compare(x.size(), y.size());
            }
            case 7: {
                PickleGlobal x = (PickleGlobal) a;
                PickleGlobal y = (PickleGlobal) b;
                charge(x.module().length() + x.name().length());
                int c = x.module().compareTo(y.module());
                return c != 0 ? c : x.name().compareTo(y.name());
            }
            default:
                return Long.compare(((PickleObject) a).sequence(), ((PickleObject) b).sequence());
        }
    }

    private static BigInteger big(Object o) {
        return o instanceof Long l ? BigInteger.valueOf(l) : (BigInteger) o;
    }
}
