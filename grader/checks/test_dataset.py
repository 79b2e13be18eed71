"""Checks of exercise "dataset" (25 points)."""

import numpy as np

from grader.checks import (
    Probes,
    cause_of,
    compare_tensor,
    depends_on,
    error_text,
    expect,
    fail,
    points,
    raised,
    shape,
)
from grader.judge.messages import Msg
from grader.judge.plan import ITEMS, ITEMS_SHORT, LOADERS, SPLITS
from grader.worker.contract import (
    ItemDescription,
    ItemsResult,
    Loaders,
    LoadersResult,
    ProbeCall,
    Split,
)

KEYS = ["input_ids", "attention_mask", "pixel_values", "labels"]


def _items(probes: Probes, call: ProbeCall[ItemsResult]) -> tuple[ItemsResult, ItemsResult]:
    got, ref = probes.student(call), probes.reference(call)
    if got.error is not None:
        raised("VQADataset(...)", got.error)
    return got, ref


def _item(items: list[ItemDescription], idx: int) -> ItemDescription:
    item = items[idx]
    if item.error is not None:
        raised(f"dataset[{idx}]", item.error)
    return item


@points(2)
def test_item_keys(probes: Probes) -> None:
    got, ref = _items(probes, ITEMS)
    item = _item(got.items, 0)
    if item.keys is None:
        fail("dataset.item_not_mapping", type=item.type)
    want = ref.items[0].keys or []
    missing = [key for key in want if key not in item.keys]
    expect(not missing, "dataset.item_keys", missing=missing, got=item.keys, expected=want)


def _shapes(probes: Probes, call: ProbeCall[ItemsResult], what: Msg) -> None:
    got, ref = _items(probes, call)
    for idx, ref_item in enumerate(ref.items):
        item = _item(got.items, idx)
        for name in KEYS:
            want = ref_item.fields[name]
            have = item.fields.get(name)
            if have is None:
                fail("dataset.no_key", idx=idx, name=repr(name))
            if have.shape is None:
                fail("dataset.not_a_tensor", idx=idx, name=repr(name), type=have.type)
            if have.shape != want.shape:
                fail(
                    "dataset.shape",
                    name=name,
                    got=shape(have.shape),
                    expected=shape(want.shape or []),
                    what=what,
                )
            if have.dtype != want.dtype:
                fail("dataset.dtype", name=name, got=have.dtype, expected=want.dtype, what=what)
    if got.collate is not None and got.collate.error is not None:
        error = got.collate.error
        fail(
            "dataset.no_collate",
            error=error_text(error),
            cause=cause_of(error.kind, error.message, error.where),
        )


@points(4)
@depends_on("item_keys")
def test_item_shapes(probes: Probes) -> None:
    _shapes(probes, ITEMS, Msg("dataset.default_lengths"))


@points(3)
@depends_on("item_shapes")
def test_max_lengths(probes: Probes) -> None:
    _shapes(probes, ITEMS_SHORT, Msg("dataset.short_lengths"))


@points(4)
@depends_on("item_shapes", "max_lengths")
def test_item_values(probes: Probes) -> None:
    got, ref = _items(probes, ITEMS)
    st, rt = probes.student_tensors(ITEMS), probes.reference_tensors(ITEMS)
    for idx in range(len(ref.items)):
        _item(got.items, idx)
        for name in ("input_ids", "attention_mask", "labels"):
            problem = compare_tensor(
                f"dataset[{idx}][{name!r}]", st.get(f"item{idx}.{name}"), rt[f"item{idx}.{name}"]
            )
            if problem:
                fail(problem)
    probes.student(ITEMS_SHORT)  # the call itself must have succeeded
    ref_s = probes.reference(ITEMS_SHORT)
    st, rt = probes.student_tensors(ITEMS_SHORT), probes.reference_tensors(ITEMS_SHORT)
    for idx in range(len(ref_s.items)):
        for name in ("input_ids", "labels"):
            problem = compare_tensor(
                Msg("dataset.with_short_lengths", item=f"dataset[{idx}][{name!r}]"),
                st.get(f"item{idx}.{name}"),
                rt[f"item{idx}.{name}"],
            )
            if problem:
                fail(problem)


@points(2)
@depends_on("item_shapes")
def test_image_matches_pid(probes: Probes) -> None:
    got, ref = _items(probes, ITEMS)
    st, rt = probes.student_tensors(ITEMS), probes.reference_tensors(ITEMS)
    n = len(ref.items)
    for idx in range(n):
        _item(got.items, idx)
        pixels = st.get(f"item{idx}.pixel_values")
        expected = rt[f"item{idx}.pixel_values"]
        problem = compare_tensor(
            f"dataset[{idx}]['pixel_values']", pixels, expected, atol=1e-4, rtol=1e-4
        )
        if problem:
            if pixels is not None and pixels.shape == expected.shape:
                for other in range(n):
                    if other != idx and np.allclose(
                        pixels, rt[f"item{other}.pixel_values"], atol=1e-4
                    ):
                        fail(
                            "dataset.wrong_image",
                            idx=idx,
                            got=ref.pids[other],
                            expected=ref.pids[idx],
                        )
            fail(problem)


@points(1)
def test_len(probes: Probes) -> None:
    got, ref = _items(probes, ITEMS)
    if got.length_error is not None:
        raised("len(dataset)", got.length_error)
    expect(got.length == ref.length, "dataset.len", got=repr(got.length), expected=ref.length)


def _split(split: Split, what: str) -> Split:
    if split.error is not None:
        raised(f"load_splits({what})", split.error)
    return split


@points(3)
def test_splits(probes: Probes) -> None:
    got = probes.student(SPLITS)
    everything = got.pids
    for split, what, fraction in (
        (got.default, "data_dir", 0.1),
        (got.quarter_42, "data_dir, 0.25, 42", 0.25),
        (got.fraction_015, "data_dir, 0.15, 42", 0.15),
        (got.fraction_001, "data_dir, 0.01, 42", 0.01),
    ):
        split = _split(split, what)
        train, valid = split.train, split.valid
        both = set(train) & set(valid)
        expect(
            not both,
            "dataset.splits_overlap",
            what=what,
            count=len(both),
            pid=sorted(both)[0] if both else "",
        )
        missing = set(everything) - set(train) - set(valid)
        expect(
            not missing and len(train) + len(valid) == len(everything),
            "dataset.splits_incomplete",
            what=what,
            count=len(train) + len(valid),
            total=len(everything),
        )
        want = max(1, round(len(everything) * fraction))
        expect(
            len(valid) == want,
            "dataset.splits_fraction",
            what=what,
            got=len(valid),
            expected=want,
            fraction=fraction,
            total=len(everything),
        )


@points(2)
@depends_on("splits")
def test_splits_seeded(probes: Probes) -> None:
    got = probes.student(SPLITS)
    a = _split(got.quarter_42, "data_dir, 0.25, 42")
    b = _split(got.quarter_42_again, "data_dir, 0.25, 42")
    c = _split(got.quarter_7, "data_dir, 0.25, 7")
    expect(a == b, "dataset.splits_not_reproducible")
    expect(a.valid != c.valid, "dataset.splits_seed_ignored")


def _loaders(got: LoadersResult, loaders: Loaders) -> Loaders:
    """One run of the loaders; an error fails the check. When the learner's own VQADataset could not serve
    items of the contract's form, build_dataloaders got a stand-in serving such items, and an error there
    (a collate function written for the learner's other items, say) follows from those items."""
    if loaders.error is not None and not got.own_dataset:
        fail("dataset.loader_on_contract_items", error=error_text(loaders.error))
    if loaders.error is not None:
        raised("build_dataloaders", loaders.error)
    return loaders


# the loader checks' failures that the items explain
AFTER_ITEMS = ("dataset.loader_on_contract_items",)


@points(2)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_train_loader_shuffled(probes: Probes) -> None:
    got = probes.student(LOADERS)
    a, b, c = _loaders(got, got.seed0), _loaders(got, got.seed0_again), _loaders(got, got.seed1)
    n = got.train_size
    order = a.train.order
    expect(sorted(order) == list(range(n)), "dataset.train_loader_items", n=n, got=order)
    expect(order != list(range(n)), "dataset.train_loader_in_order")
    expect(order == b.train.order, "dataset.train_loader_not_seeded")
    expect(order != c.train.order, "dataset.train_loader_seed_ignored")


@points(1)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_valid_loader_in_order(probes: Probes) -> None:
    got = probes.student(LOADERS)
    n = got.valid_size
    order = _loaders(got, got.seed0).valid.order
    expect(
        order == list(range(100, 100 + n)),
        "dataset.valid_loader_order",
        last=n - 1,
        got=[o - 100 for o in order],
    )


@points(1)
@depends_on("item_keys", "item_shapes", when=AFTER_ITEMS)
def test_loader_batches(probes: Probes) -> None:
    got, ref = probes.student(LOADERS), probes.reference(LOADERS)
    value = _loaders(got, got.seed0)
    for have, want, part in (
        (value.train.shapes, ref.seed0.train.shapes, "train"),
        (value.valid.shapes, ref.seed0.valid.shapes, "valid"),
    ):
        expect(have == want, "dataset.batch_shapes", part=part, got=have[:2], expected=want[:2])
