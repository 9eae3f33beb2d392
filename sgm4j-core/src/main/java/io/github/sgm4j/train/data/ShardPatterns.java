package io.github.sgm4j.train.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Shard lists from webdataset-style patterns: directories, brace ranges and alternatives, globs. */
public final class ShardPatterns {

    private static final Pattern RANGE = Pattern.compile("\\{(\\d+)\\.\\.(\\d+)\\}");

    private ShardPatterns() {}

    /**
     * The shard files a pattern names: a directory (its {@code .tar}, {@code .tar.gz} and {@code .tgz}
     * files, sorted), or a path with braces ({@code {000000..000099}} zero-padded ranges, {@code
     * {a,b}} alternatives) and glob characters ({@code * ? [..]}) in the file name.
     *
     * @param pattern the pattern, relative to the working directory unless absolute
     * @return the files, in pattern order (glob matches sorted)
     * @throws DataException when a named file does not exist or a glob or directory matches nothing
     */
    public static List<Path> list(String pattern) {
        Path dir = Path.of(pattern);
        if (Files.isDirectory(dir)) {
            List<Path> out;
            try (Stream<Path> s = Files.list(dir)) {
                out = s.filter(p -> isShard(p) && Files.isRegularFile(p)).sorted().toList();
            } catch (IOException e) {
                throw new DataException("cannot list shard directory " + dir + ": " + e.getMessage(), e);
            }
            if (out.isEmpty()) {
                throw new DataException("shard directory " + dir.toAbsolutePath() + " has no .tar, .tar.gz or .tgz file");
            }
            return out;
        }
        List<Path> out = new ArrayList<>();
        for (String p : expandBraces(pattern)) {
            Path path = Path.of(p);
            String name = path.getFileName() == null ? "" : path.getFileName().toString();
            if (name.matches(".*[*?\\[].*")) {
                Path parent = path.getParent() == null ? Path.of(".") : path.getParent();
                TreeSet<Path> found = new TreeSet<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, name)) {
                    for (Path f : ds) {
                        if (Files.isRegularFile(f)) {
                            found.add(path.getParent() == null ? Path.of(f.getFileName().toString()) : f);
                        }
                    }
                } catch (IOException e) {
                    throw new DataException("cannot list " + parent.toAbsolutePath() + " for shard pattern " + p + ": "
                            + e.getMessage(), e);
                }
                if (found.isEmpty()) {
                    throw new DataException("shard pattern " + p + " matches no file");
                }
                out.addAll(found);
            } else {
                if (!Files.isRegularFile(path)) {
                    throw new DataException("tar shard " + path.toAbsolutePath() + " does not exist (from pattern "
                            + pattern + ")");
                }
                out.add(path);
            }
        }
        return out;
    }

    private static boolean isShard(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz");
    }

    /**
     * Expands brace groups left to right: {@code a{1..3}b} → {@code a1b a2b a3b} (zero padding kept
     * from the first bound's width), {@code {x,y}} → {@code x y}.
     *
     * @param pattern the pattern
     * @return the expansions, in order
     * @throws DataException when a brace is unbalanced or a range runs backwards
     */
    public static List<String> expandBraces(String pattern) {
        int open = pattern.indexOf('{');
        if (open < 0) {
            if (pattern.indexOf('}') >= 0) {
                throw new DataException("unbalanced '}' in shard pattern " + pattern);
            }
            return List.of(pattern);
        }
        int close = pattern.indexOf('}', open);
        if (close < 0) {
            throw new DataException("unbalanced '{' in shard pattern " + pattern);
        }
        String head = pattern.substring(0, open);
        String body = pattern.substring(open, close + 1);
        String tail = pattern.substring(close + 1);
        List<String> alts = new ArrayList<>();
        Matcher m = RANGE.matcher(body);
        if (m.matches()) {
            long lo = Long.parseLong(m.group(1));
            long hi = Long.parseLong(m.group(2));
            if (hi < lo) {
                throw new DataException("shard pattern " + pattern + ": range " + body + " runs backwards");
            }
            int width = m.group(1).length();
            for (long i = lo; i <= hi; i++) {
                String s = Long.toString(i);
                alts.add("0".repeat(Math.max(0, width - s.length())) + s);
            }
        } else {
            for (String a : body.substring(1, body.length() - 1).split(",", -1)) {
                alts.add(a);
            }
        }
        List<String> out = new ArrayList<>();
        for (String a : alts) {
            for (String rest : expandBraces(tail)) {
                out.add(head + a + rest);
            }
        }
        return out;
    }
}
