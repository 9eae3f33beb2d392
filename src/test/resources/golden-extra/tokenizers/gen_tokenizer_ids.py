#!/usr/bin/env python3
"""Records the token ids of the two CLIP tokenizers the reference uses, for TokenizerGoldenTest.

Reference code (run, never copied):
  * HuggingFace transformers' slow ``CLIPTokenizer`` as sgm/ldm ``FrozenCLIPEmbedder`` calls it:
    ``tokenizer(text, truncation=True, max_length=77, return_length=True,
    return_overflowing_tokens=False, padding="max_length", return_tensors="pt")`` (recorded without
    return_tensors: transformers 4.57 refuses torch 1.13 tensors; the ids are the same list).
  * open_clip's ``SimpleTokenizer`` (``open_clip.tokenize``) as ``FrozenOpenCLIPEmbedder(2)`` calls it.
  * ftfy installed (both tokenizers then run ``ftfy.fix_text``).

Environment used for the committed ids.json (see "meta" in it):
  * Debian's /usr/bin/python3 (3.11) with python3-regex, python3-wcwidth, python3-numpy, python3-torch;
  * ftfy 6.3.1 (wheel), transformers 4.57.6 (wheel; sgm pins 4.19.1, whose git snapshot was too
    large to fetch here: the slow CLIPTokenizer's ``_tokenize``/``bpe``/truncation/padding are the
    same code in both versions), tokenizers 0.22.2 and safetensors 0.8.0 installed with
    ``pip install --no-deps --target DIR``;
  * open_clip ``src/open_clip/tokenizer.py`` at tag v2.24.0, loaded as a standalone module
    (``--open-clip-tokenizer PATH``).

huggingface_hub is not installed: the slow tokenizer never touches the hub when built from local
files, so a permissive stand-in module (``_HubStub`` below) answers transformers' imports of it, and
``transformers.dependency_versions_check`` is replaced by an empty module so the missing hub does not
abort the import. Nothing of the stand-ins is on the tokenization path.

The vocabulary: open_clip and openai/CLIP build their encoder from bpe_simple_vocab_16e6.txt.gz
(256 byte characters, the same with "</w>", 48894 merges joined, 2 special tokens). HF's
openai/clip-vit-large-patch14 vocab.json/merges.txt hold the same ids with the special tokens named
<|startoftext|>/<|endoftext|>; this script writes them from the BPE file (no network) into a temp
folder and checks both tokenizers agree on every id before recording.

Usage:
  PYTHONPATH=/path/to/site /usr/bin/python3 gen_tokenizer_ids.py \
      --bpe sgm4j-core/src/main/resources/io/github/sgm4j/modules/encoders/text/bpe_simple_vocab_16e6.txt.gz \
      --open-clip-tokenizer /path/to/open_clip/src/open_clip/tokenizer.py \
      --out src/test/resources/golden-extra/tokenizers/ids.json \
      --random-out src/test/resources/golden-extra/tokenizers/ids_random.json

ids.json holds the hand-written PROMPTS with full 77-id rows of both tokenizers; ids_random.json
holds RANDOM_COUNT seeded random prompts (random_prompts below: words, scripts, emoji, whitespace,
control characters, HTML references, special-token texts, mojibake made by encoding UTF-8 text
with Latin-1/windows-1252/windows-1251, and random code points of every plane, glued with or
without spaces) with the untruncated id lists.
"""
import argparse
import gzip
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import random
import sys
import tempfile
import types


class _HubAny:
    """Answers any attribute or call; stands in for huggingface_hub objects never used here."""

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _HubAny()

    def __getattr__(self, name):
        return _HubAny()

    def __mro_entries__(self, bases):
        return (object,)


class _HubStubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__version__ = "0.0.0"

        def _getattr(name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _HubAny()

        m.__getattr__ = _getattr
        return m

    def exec_module(self, m):
        if m.__name__.endswith(".constants"):
            for k in ["HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ASSETS_CACHE",
                      "default_cache_path", "HF_TOKEN_PATH"]:
                setattr(m, k, os.path.join(tempfile.gettempdir(), "hf_home_unused"))
            for k in ["HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"]:
                setattr(m, k, True)


class _HubStub(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "huggingface_hub":
            return importlib.machinery.ModuleSpec(name, _HubStubLoader(), is_package=True)
        return None


def load_hf_clip_tokenizer_class():
    sys.meta_path.insert(0, _HubStub())
    sys.modules["transformers.dependency_versions_check"] = types.ModuleType(
        "transformers.dependency_versions_check")
    import transformers
    from transformers.models.clip.tokenization_clip import CLIPTokenizer
    return transformers.__version__, CLIPTokenizer


def load_open_clip_tokenizer(path):
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer_ref", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_hf_files(oc_mod, bpe_path, folder):
    """vocab.json + merges.txt for the HF tokenizer, laid out as open_clip builds its encoder."""
    byte_chars = list(oc_mod.bytes_to_unicode().values())
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = merges[1:49152 - 256 - 2 + 1]
    vocab = byte_chars + [c + "</w>" for c in byte_chars]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    encoder = {v: i for i, v in enumerate(vocab)}
    assert len(encoder) == 49408, len(encoder)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(m + "\n")
    return encoder


PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "A Photograph Of An ASTRONAUT, Riding a Horse!!!",
    "it's a dog's life, isn't it? they're here, we've gone, I'm ok, you'll see, he'd go",
    "I'LL GO, WE'VE SEEN, SHE'S HERE, DON'T",
    "'sun 'tis 'm 'd rock'n'roll o'clock",
    "hello... world?! (test) [brackets] {braces} <angle> @#$%^&*_+=~`|\\/ -- -> ;:",
    "masterpiece, best quality, 8k, ultra-detailed, (photorealistic:1.4), [dof]",
    "café crème brûlée naïve façade Ångström señor über",
    "東京の夜景、ネオンサイン",
    "一只可爱的猫坐在窗台上",
    "서울의 밤 풍경",
    "Москва ночью, снег идёт",
    "مدينة في الليل",
    "שלום עולם",
    "กรุงเทพมหานคร",
    "क्षत्रिय हिन्दी",
    "ΟΔΟΣ ΣΟΦΊΑ Σ σ",
    "İstanbul STRASSE Straße ǅungla",
    "emoji 😀🎨🔥 end",
    "family 👨‍👩‍👧‍👦 and thumbs 👍🏽 flag 🇯🇵 heart ❤️ keycap 1️⃣",
    "  lots   of\twhitespace\n\nand\r\nnewlines  \t",
    "a\u00a0b\u3000c\u2003d\u200be",
    "line\u2028sep\u2029para\u0085nel",
    "salt &amp; pepper",
    "&lt;b&gt; not bold &quot;quoted&quot;",
    "fish &amp;amp; chips",
    "&eacute;t&eacute; &#233;&#x41; &copy; &nbsp;x &AMP; &EACUTE;",
    "tag <b>bold</b> &amp; more",
    "&ampfoo &notit; &#0; &#x110000; &#128512; &#150;",
    "\u201ccurly quotes\u201d and \u2018single\u2019 it\u2019s \u201edouble low\u201f",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff4c\uff45\uff54\uff54\uff45\uff52\uff53 \uff11\uff12\uff13\uff01",
    "\uff8a\uff9d\uff76\uff78 \uff76\uff80\uff76\uff85",
    "\ufb01ne \ufb02ower \ufb00 \ufb03 \u0133 \u01c6",
    "caf\u00c3\u00a9",
    "na\u00c3\u00afve caf\u00c3\u00a9 cr\u00c3\u00a8me br\u00c3\u00bbl\u00c3\u00a9e",
    "The Mona Lisa doesn\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2t have eyebrows.",
    "\u00d0\u00bf\u00d1\u20ac\u00d0\u00b8\u00d0\u00b2\u00d0\u00b5\u00d1\u201a",
    "\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d",
    "ALL CAPS PROMPT WITH SHOUTING",
    "Numbers 12345 and 3.14159 and 1,000,000 and \u00bd \u00b2 \u0663 \u2167 \u2460",
    "x\u00b2 + y\u00b3 = z\u2074",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 \U0002070e",
    "e\u0301 cafe\u0301 n\u0303",
    "",
    "   ",
    "\t\n",
    "bell\x07 null\x00 esc\x1b[31mred\x1b[0m del\x7f vt\x0b ff\x0c",
    "c1 \x80\x93 controls \x85 here",
    "bom\ufeffhere \u206a\ufff9",
    "lone \ud800 high",
    "lone \udc00 low end\udfff",
    "pair as two \ud83d\ude00 surrogates",
    "a <|startoftext|> b <|endoftext|> c",
    "<|ENDOFTEXT|>x",
    "<start_of_text>x<end_of_text>",
    "a " * 74,
    "a " * 75,
    "a " * 76,
    "a " * 100,
    "masterpiece, best quality, highly detailed, " * 12,
    "A majestic lion with a flowing golden mane standing proudly on a rocky outcrop at sunset, "
    "dramatic lighting, volumetric clouds, cinematic composition, ultra realistic, 8k resolution, "
    "trending on artstation, by Greg Rutkowski and Alphonse Mucha, intricate details, sharp focus",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "https://example.com/path?query=1&x=y#frag user@example.org",
]


RANDOM_SEED = 20261205
RANDOM_COUNT = 300

_WORDS = ["cat", "Dog", "HOUSE", "astronaut", "riding", "a", "the", "of", "photo", "masterpiece", "8k",
          "hdr", "don't", "it's", "THEY'RE", "we've", "I'm", "you'll", "he'd", "o'clock", "'s", "'t", "'Re"]
_SCRIPTS = ["caf\u00e9", "na\u00efve", "\u00c5ngstr\u00f6m", "stra\u00dfe", "\u0130stanbul", "\u039f\u0394\u039f\u03a3",
            "\u03c3\u03bf\u03c6\u03af\u03b1", "\u041c\u043e\u0441\u043a\u0432\u0430", "\u6771\u4eac", "\u732b",
            "\uc11c\uc6b8", "\u0645\u062f\u064a\u0646\u0629", "\u05e9\u05dc\u05d5\u05dd",
            "\u0939\u093f\u0928\u094d\u0926\u0940", "\u0e01\u0e23\u0e38\u0e07\u0e40\u0e17\u0e1e", "e\u0301",
            "a\u0308\u0301", "\u01c5", "\u0149", "\ufb05", "\u017f", "\u212a", "\u216b", "\u00bd", "\u00b2", "\u0663",
            "\u2460", "\U0001d518\U0001d52b", "\U0002070e", "\uff46\uff55\uff4c\uff4c", "\uff8a\uff9f\uff9d",
            "\uff76\uff9e", "\u3000", "\ufb01", "\u0132", "\u00b5", "\u1f88", "\u00c9", "\u00e9"]
_EMOJI = ["\U0001f600", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "\U0001f44d\U0001f3fd",
          "\U0001f1ef\U0001f1f5", "\u2764\ufe0f", "1\ufe0f\u20e3", "\U0001f3f3\ufe0f\u200d\U0001f308", "\u2728"]
_PUNCT = [".", ",", "!!!", "?!", "...", "(", ")", "[", "]", "<", ">", "@", "#", "&", "*", "_", "~", "|", "\\",
          "--", ";", "'", '"', "\u2018", "\u2019", "\u201c", "\u201d", "\u201e", "\u02bc", "\u2014", "\u2013",
          "\u2026", "\u00ab", "\u00bb", "\u00bf", "\u00a9", "\u2122", "\u20ac", "\u00a3", "\u00b0"]
_SPACES = [" ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u2028", "\u2029", "\u0085", "\x1c", "\x1f",
           "\u200b", "\u180e", "\ufeff", "\u2003", "\u202f", "\x0b", "\x0c"]
_CONTROLS = ["\x00", "\x07", "\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x7f", "\x80", "\x81", "\x85", "\x93",
             "\x9d", "\u206a", "\ufff9", "\ufffd", "\ud800", "\udfff", "\x1a"]
_HTML = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;", "&copy;", "&eacute;", "&EACUTE;", "&AMP;",
         "&Amp;", "&amp;amp;", "&#233;", "&#xE9;", "&#X41;", "&#0;", "&#13;", "&#128;", "&#150;", "&#129;",
         "&#xD800;", "&#1114112;", "&#x1F600;", "&ampfoo", "&notit;", "&notin;", "&lt", "&copy", "&#65abc;",
         "&szlig;", "&SZLIG;", "&frac12;", "&unknown;", "&#;", "&", "&#9;", "&#127;", "&#xFFFE;"]
_SPECIAL = ["<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "<start_of_text>", "<END_OF_TEXT>"]
_MOJIBAKE_SOURCES = ["caf\u00e9", "na\u00efve", "cr\u00e8me br\u00fbl\u00e9e", "doesn\u2019t",
                     "\u201cquoted\u201d", "\u043f\u0440\u0438\u0432\u0435\u0442", "\u6771\u4eac",
                     "\U0001f600", "se\u00f1or", "\u00fcber", "\u2013", "\u2026"]


def _mojibake(rng, text):
    data = text.encode("utf-8")
    how = rng.choice(["latin-1", "cp1252", "cp1252", "cp1251", "cp1252 twice"])
    try:
        if how == "cp1252 twice":
            return data.decode("cp1252").encode("utf-8").decode("cp1252")
        return data.decode(how)
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _random_code_point(rng):
    while True:
        cp = rng.choice([rng.randint(0x20, 0x2FFF), rng.randint(0x3000, 0xFFFF),
                         rng.randint(0x10000, 0x1FFFF), rng.randint(0x20000, 0x10FFFF)])
        if not 0xD800 <= cp < 0xE000:
            return chr(cp)


def random_prompts(seed, count):
    """Seeded random prompts: 0..14 fragments of the pools above, glued with or without spaces."""
    rng = random.Random(seed)

    def fragment():
        k = rng.random()
        if k < 0.30:
            return rng.choice(_WORDS)
        if k < 0.45:
            return rng.choice(_SCRIPTS)
        if k < 0.52:
            return rng.choice(_EMOJI)
        if k < 0.62:
            return rng.choice(_PUNCT)
        if k < 0.72:
            return rng.choice(_SPACES)
        if k < 0.77:
            return rng.choice(_CONTROLS)
        if k < 0.85:
            return rng.choice(_HTML)
        if k < 0.87:
            return rng.choice(_SPECIAL)
        if k < 0.93:
            return _mojibake(rng, rng.choice(_MOJIBAKE_SOURCES))
        if k < 0.96:
            return "".join(_random_code_point(rng) for _ in range(rng.randint(1, 4)))
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))

    prompts = []
    for _ in range(count):
        joiner = rng.choice(["", " ", " ", " "])
        prompts.append(joiner.join(fragment() for _ in range(rng.randint(0, 14))))
    return prompts


def write_cases(path, cases, meta=None):
    with open(path, "w", encoding="utf-8") as f:
        # one case a line keeps the file small and diffable
        f.write("{" + ('"meta": ' + json.dumps(meta, indent=1) + ",\n" if meta else "") + '"cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
        f.write("\n]}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bpe", required=True)
    ap.add_argument("--open-clip-tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--random-out", required=True)
    args = ap.parse_args()

    import ftfy
    import regex
    import torch

    oc = load_open_clip_tokenizer(args.open_clip_tokenizer)
    oc_tok = oc.SimpleTokenizer(bpe_path=args.bpe)
    tf_version, CLIPTokenizer = load_hf_clip_tokenizer_class()
    with tempfile.TemporaryDirectory() as d:
        encoder = write_hf_files(oc, args.bpe, d)
        hf_tok = CLIPTokenizer(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
    # Both vocabularies agree id for id (special token names aside), and so do the merges.
    oc_names = {v: k for k, v in oc_tok.encoder.items()}
    for name, idx in encoder.items():
        if idx < 49406:
            assert oc_names[idx] == name, (idx, name, oc_names[idx])
    assert hf_tok.bpe_ranks == oc_tok.bpe_ranks
    assert hf_tok.pad_token_id == 49407 and hf_tok.bos_token_id == 49406 and hf_tok.eos_token_id == 49407

    cases = []
    for text in PROMPTS:
        be = hf_tok(text, truncation=True, max_length=77, return_length=True,
                    return_overflowing_tokens=False, padding="max_length")
        hf_ids = list(be["input_ids"])
        hf_full = len(hf_tok(text)["input_ids"])
        oc_ids = oc.SimpleTokenizer.__call__(oc_tok, [text])[0].tolist()
        oc_full = len(oc_tok.encode(text)) + 2
        cases.append({"prompt": text, "fix_text": ftfy.fix_text(text), "hf": hf_ids, "hf_length": hf_full,
                      "open_clip": oc_ids, "open_clip_length": oc_full})
    meta = {
        "python": sys.version.split()[0],
        "transformers": tf_version,
        "ftfy": ftfy.__version__,
        "regex": regex.__version__,
        "torch": torch.__version__,
        "open_clip_tokenizer": "v2.24.0 src/open_clip/tokenizer.py",
        "hf_call": "tokenizer(text, truncation=True, max_length=77, return_length=True, "
                   "return_overflowing_tokens=False, padding='max_length') (the embedder adds "
                   "return_tensors='pt', which transformers 4.57 refuses on torch 1.13; same ids)",
        "open_clip_call": "open_clip.tokenize([text]) (SimpleTokenizer, context_length 77)",
        "length_fields": "ids before truncation incl. start and end tokens",
        "fix_text": "ftfy.fix_text(prompt) with default settings",
    }
    write_cases(args.out, cases, meta)
    print(f"wrote {len(cases)} cases to {args.out}")

    random_cases = []
    for text in random_prompts(RANDOM_SEED, RANDOM_COUNT):
        random_cases.append({"prompt": text, "fix_text": ftfy.fix_text(text),
                             "hf_tokens": hf_tok(text, add_special_tokens=False)["input_ids"],
                             "open_clip_tokens": oc_tok.encode(text)})
    write_cases(args.random_out, random_cases,
                {"seed": RANDOM_SEED, "count": RANDOM_COUNT,
                 "hf_tokens": "tokenizer(text, add_special_tokens=False)['input_ids']",
                 "open_clip_tokens": "SimpleTokenizer.encode(text)"})
    print(f"wrote {len(random_cases)} cases to {args.random_out}")


if __name__ == "__main__":
    main()
