"""Checks of exercise "dataset" (25 points)."""

import numpy as np

from grader.checks import (cause_of, compare_tensor, depends_on, error_text, expect, fail, points, raised, section,
                            shape)
from grader.judge.messages import Msg

KEYS = ["input_ids", "attention_mask", "pixel_values", "labels"]


def _items(probes, key):
    got, ref = probes.student(key), probes.reference(key)
    section(got, "init", "VQADataset(...)")
    return got, ref


def _item(items, idx):
    item = items[idx]
    if "error" in item:
        raised(f"dataset[{idx}]", item["error"])
    return item


@points(2)
def test_item_keys(probes):
    got, ref = _items(probes, "dataset.items")
    item = _item(got["items"], 0)
    if item["keys"] is None:
        fail("dataset.item_not_mapping", type=item.get("type", "?"))
    missing = [key for key in ref["items"][0]["keys"] if key not in item["keys"]]
    expect(not missing, "dataset.item_keys", missing=missing, got=item["keys"], expected=ref["items"][0]["keys"])


def _shapes(probes, key, what):
    got, ref = _items(probes, key)
    for idx, ref_item in enumerate(ref["items"]):
        item = _item(got["items"], idx)
        for name in KEYS:
            want = ref_item["fields"][name]
            have = item["fields"].get(name)
            if have is None:
                fail("dataset.no_key", idx=idx, name=repr(name))
            if "shape" not in have:
                fail("dataset.not_a_tensor", idx=idx, name=repr(name), type=have.get("type"))
            if have["shape"] != want["shape"]:
                fail("dataset.shape", name=name, got=shape(have["shape"]), expected=shape(want["shape"]), what=what)
            if have["dtype"] != want["dtype"]:
                fail("dataset.dtype", name=name, got=have["dtype"], expected=want["dtype"], what=what)
    if "collate" in got and "error" in got["collate"]:
        fail("dataset.no_collate", error=error_text(got["collate"]["error"]), cause=cause_of(got["collate"]["error"]))


@points(4)
@depends_on("item_keys")
def test_item_shapes(probes):
    _shapes(probes, "dataset.items", Msg("dataset.default_lengths"))


@points(3)
@depends_on("item_shapes")
def test_max_lengths(probes):
    _shapes(probes, "dataset.items_short", Msg("dataset.short_lengths"))


@points(4)
@depends_on("item_shapes", "max_lengths")
def test_item_values(probes):
    got, ref = _items(probes, "dataset.items")
    st, rt = probes.student_tensors("dataset.items"), probes.reference_tensors("dataset.items")
    for idx in range(len(ref["items"])):
        _item(got["items"], idx)
        for name in ("input_ids", "attention_mask", "labels"):
            problem = compare_tensor(f"dataset[{idx}][{name!r}]", st.get(f"item{idx}.{name}"), rt[f"item{idx}.{name}"])
            if problem:
                fail(problem)
    got_s, ref_s = probes.student("dataset.items_short"), probes.reference("dataset.items_short")
    st, rt = probes.student_tensors("dataset.items_short"), probes.reference_tensors("dataset.items_short")
    for idx in range(len(ref_s["items"])):
        for name in ("input_ids", "labels"):
            problem = compare_tensor(Msg("dataset.with_short_lengths", item=f"dataset[{idx}][{name!r}]"),
                                     st.get(f"item{idx}.{name}"), rt[f"item{idx}.{name}"])
            if problem:
                fail(problem)


@points(2)
@depends_on("item_shapes")
def test_image_matches_pid(probes):
    got, ref = _items(probes, "dataset.items")
    st, rt = probes.student_tensors("dataset.items"), probes.reference_tensors("dataset.items")
    n = len(ref["items"])
    for idx in range(n):
        _item(got["items"], idx)
        pixels = st.get(f"item{idx}.pixel_values")
        expected = rt[f"item{idx}.pixel_values"]
        problem = compare_tensor(f"dataset[{idx}]['pixel_values']", pixels, expected, atol=1e-4, rtol=1e-4)
        if problem:
            if pixels is not None and pixels.shape == expected.shape:
                for other in range(n):
                    if other != idx and np.allclose(pixels, rt[f"item{other}.pixel_values"], atol=1e-4):
                        fail("dataset.wrong_image", idx=idx, got=ref["pids"][other], expected=ref["pids"][idx])
            fail(problem)


@points(1)
def test_len(probes):
    got, ref = _items(probes, "dataset.items")
    length = section(got, "len", "len(dataset)")
    expect(length == ref["len"], "dataset.len", got=repr(length), expected=ref["len"])


def _get_split(got, name, what):
    call = got["calls"][name]
    if "error" in call:
        raised(f"load_splits({what})", call["error"])
    return call


@points(3)
def test_splits(probes):
    got = probes.student("dataset.splits")
    everything = got["all"]
    for name, what, fraction in (("default", "data_dir", 0.1), ("quarter_42", "data_dir, 0.25, 42", 0.25),
                                 ("fraction_015", "data_dir, 0.15, 42", 0.15), ("fraction_001", "data_dir, 0.01, 42", 0.01)):
        call = _get_split(got, name, what)
        train, valid = call["train"], call["valid"]
        both = set(train) & set(valid)
        expect(not both, "dataset.splits_overlap", what=what, count=len(both),
               pid=sorted(both)[0] if both else "")
        missing = set(everything) - set(train) - set(valid)
        expect(not missing and len(train) + len(valid) == len(everything), "dataset.splits_incomplete",
               what=what, count=len(train) + len(valid), total=len(everything))
        want = max(1, round(len(everything) * fraction))
        expect(len(valid) == want, "dataset.splits_fraction", what=what, got=len(valid), expected=want,
               fraction=fraction, total=len(everything))


@points(2)
@depends_on("splits")
def test_splits_seeded(probes):
    got = probes.student("dataset.splits")
    a = _get_split(got, "quarter_42", "data_dir, 0.25, 42")
    b = _get_split(got, "quarter_42_again", "data_dir, 0.25, 42")
    c = _get_split(got, "quarter_7", "data_dir, 0.25, 7")
    expect(a == b, "dataset.splits_not_reproducible")
    expect(a["valid"] != c["valid"], "dataset.splits_seed_ignored")


def _loaders(got, name):
    """The loaders' run ``name``; an error fails the check. When the learner's own VQADataset could not serve
    items of the contract's form, build_dataloaders got a stand-in serving such items, and an error there
    (a collate function written for the learner's other items, say) follows from those items."""
    value = got.get(name, {})
    if "error" in value and not got.get("own_dataset", True):
        fail("dataset.loader_on_contract_items", error=error_text(value["error"]))
    if "error" in value:
        raised("build_dataloaders", value["error"])
    return value


AFTER_ITEMS = ("dataset.loader_on_contract_items",)  # the loader checks' failures that the items explain


@points(2)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_train_loader_shuffled(probes):
    got = probes.student("dataset.loaders")
    a, b, c = _loaders(got, "seed0"), _loaders(got, "seed0_again"), _loaders(got, "seed1")
    n = got["sizes"][0]
    order = a["train"]["order"]
    expect(sorted(order) == list(range(n)), "dataset.train_loader_items", n=n, got=order)
    expect(order != list(range(n)), "dataset.train_loader_in_order")
    expect(order == b["train"]["order"], "dataset.train_loader_not_seeded")
    expect(order != c["train"]["order"], "dataset.train_loader_seed_ignored")


@points(1)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_valid_loader_in_order(probes):
    got = probes.student("dataset.loaders")
    n = got["sizes"][1]
    order = _loaders(got, "seed0")["valid"]["order"]
    expect(order == list(range(100, 100 + n)), "dataset.valid_loader_order", last=n - 1, got=[o - 100 for o in order])


@points(1)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_loader_batches(probes):
    got, ref = probes.student("dataset.loaders"), probes.reference("dataset.loaders")
    value = _loaders(got, "seed0")
    for part in ("train", "valid"):
        have, want = value[part]["shapes"], ref["seed0"][part]["shapes"]
        expect(have == want, "dataset.batch_shapes", part=part, got=have[:2], expected=want[:2])
