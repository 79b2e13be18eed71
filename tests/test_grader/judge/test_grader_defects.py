"""Each known defect loses points in its own exercise, in the check that targets it, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judge.grade import Grader

from mutants import copy_impl
from paths import CACHE, ROOT

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

SOLUTIONS = ROOT / "solutions"


def make_submission(dest: Path, file: str, old: str, new: str) -> Path:
    """The reference with one snippet of one file replaced (the snippet must be there once)."""
    return copy_impl("solutions", dest, {file: [(old, new)]})


# (id, file, old, new, exercise, checks that must fail)
# a table, one row per line (or two)
# fmt: off
DEFECTS = [
    # dataset
    ("pad_to_512", "dataset.py", "            max_length=self.question_max_length,\n", "",
     "dataset", ["item_shapes"]),
    ("labels_unpadded", "dataset.py",
     'str(record["answer"]),\n            padding="max_length",', 'str(record["answer"]),\n            padding=False,',
     "dataset", ["item_shapes"]),
    ("constant_answer_length", "dataset.py", "max_length=self.answer_max_length,", "max_length=8,",
     "dataset", ["max_lengths"]),
    ("wrong_image", "dataset.py", 'str(record["pid"]), "image.png"',
     'str(self.records[(idx + 1) % len(self.records)]["pid"]), "image.png"', "dataset", ["image_matches_pid"]),
    ("same_data_twice", "dataset.py", "    return train, valid\n", "    return records, records\n",
     "dataset", ["splits"]),
    ("split_not_seeded", "dataset.py", "random.Random(seed).shuffle(order)", "random.shuffle(order)",
     "dataset", ["splits_seeded"]),
    ("train_not_shuffled", "dataset.py", "shuffle=True", "shuffle=False", "dataset", ["train_loader_shuffled"]),
    ("shuffle_not_seeded", "dataset.py", "num_workers=num_workers, generator=generator", "num_workers=num_workers",
     "dataset", ["train_loader_shuffled"]),
    ("no_squeeze", "dataset.py", 'item = {key: value.squeeze(0) for key, value in encoding.items()',
     'item = {key: value for key, value in encoding.items()', "dataset", ["item_shapes"]),
    ("question_length_fixed", "dataset.py", "max_length=self.question_max_length,", "max_length=32,",
     "dataset", ["max_lengths"]),
    ("valid_fraction_floored", "dataset.py", "n_valid = max(1, round(len(records) * valid_fraction))",
     "n_valid = max(1, int(len(records) * valid_fraction))", "dataset", ["splits"]),
    ("valid_may_be_empty", "dataset.py", "n_valid = max(1, round(len(records) * valid_fraction))",
     "n_valid = round(len(records) * valid_fraction)", "dataset", ["splits"]),
    ("valid_shuffled", "dataset.py", "valid_dataset, batch_size=batch_size, shuffle=False",
     "valid_dataset, batch_size=batch_size, shuffle=True", "dataset", ["valid_loader_in_order"]),
    ("batch_size_ignored", "dataset.py", "train_dataset, batch_size=batch_size, shuffle=True",
     "train_dataset, batch_size=8, shuffle=True", "dataset", ["loader_batches"]),
    # lora
    ("rank_ignored", "lora.py", "r=r,", "r=16,", "lora", ["trainable_other_settings"]),
    ("task_type_set", "lora.py", 'bias="none",', 'bias="none",\n        task_type="QUESTION_ANS",', "lora",
     ["returns_peft_model"]),
    ("dropout_ignored", "lora.py", "lora_dropout=lora_dropout,", "lora_dropout=0.05,", "lora", ["rank_alpha_dropout"]),
    ("bias_trained", "lora.py", 'bias="none",', 'bias="all",', "lora", ["no_bias_training", "trainable_defaults"]),
    ("fixed_target_modules", "lora.py", "target_modules=list(target_modules)", 'target_modules=["query", "key"]',
     "lora", ["trainable_other_settings"]),
    ("alpha_ignored", "lora.py", "lora_alpha=lora_alpha,", "lora_alpha=32,", "lora", ["rank_alpha_dropout"]),
    ("constants_for_every_argument", "lora.py",
     "r=r,\n        lora_alpha=lora_alpha,\n        lora_dropout=lora_dropout,\n        bias=\"none\",\n"
     "        target_modules=list(target_modules),",
     "r=16,\n        lora_alpha=16,\n        lora_dropout=0.05,\n        bias=\"none\",\n"
     "        target_modules=['query', 'value'],", "lora",
     ["trainable_defaults", "trainable_other_settings", "rank_alpha_dropout"]),
    ("not_a_peft_model", "lora.py", "    )\n    return get_peft_model(model, config)",
     "    )\n    get_peft_model(model, config)\n    return model", "lora", ["returns_peft_model"]),
    # train
    ("no_attention_mask", "train.py", "        with _autocast(device, amp_dtype):\n            loss = model(",
     '        inputs.pop("attention_mask")\n        with _autocast(device, amp_dtype):\n            loss = model(',
     "train", ["attention_mask_passed"]),
    ("no_zero_grad", "train.py", "        optimizer.zero_grad()\n", "", "train", ["gradients_zeroed_each_step"]),
    ("no_train_mode", "train.py", "    model.train()\n", "", "train", ["train_mode"]),
    ("scaler_ignored", "train.py", "        if scaler is not None:\n", "        if False:\n", "train", ["scaler_used"]),
    ("cuda_autocast", "train.py", "torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)",
     'torch.autocast(device_type="cuda", dtype=torch.float16)', "train", ["autocast"]),
    ("evaluate_with_grad", "train.py", "    with torch.no_grad():\n        for batch in tqdm(loader, desc=\"valid\"",
     "    if True:\n        for batch in tqdm(loader, desc=\"valid\"", "train", ["evaluate_eval_mode_no_grad"]),
    ("evaluate_train_mode", "train.py", "    model.eval()\n", "", "train", ["evaluate_eval_mode_no_grad"]),
    ("best_never_updated", "train.py", "            best = valid_loss\n", "", "train",
     ["fit_saves_only_improvements", "fit_keeps_best_weights"]),
    ("fixed_gamma", "train.py", "ExponentialLR(optimizer, gamma=gamma)", "ExponentialLR(optimizer, gamma=0.9)",
     "train", ["fit_learning_rate"]),
    ("adamw_on_everything", "train.py", "    params = [p for p in model.parameters() if p.requires_grad]\n",
     "    params = list(model.parameters())\n", "train", ["fit_optimises_trainable_only"]),
    ("no_step_without_scaler", "train.py", "            loss.backward()\n            optimizer.step()\n",
     "            loss.backward()\n", "train", ["gradients_zeroed_each_step", "one_epoch_steps"]),
    ("zero_grad_between_backward_and_step", "train.py",
     "            loss.backward()\n            optimizer.step()",
     "            loss.backward()\n            optimizer.zero_grad()\n            optimizer.step()", "train",
     ["one_epoch_steps"]),
    ("backward_twice", "train.py", "            loss.backward()\n            optimizer.step()",
     "            loss.backward(retain_graph=True)\n            loss.backward()\n            optimizer.step()", "train",
     ["one_epoch_steps"]),
    ("scaler_always_used", "train.py", "        if scaler is not None:\n", "        if True:\n", "train",
     ["one_epoch_runs_on_cpu"]),
    ("forgot_return", "train.py", "        losses.append(loss.item())\n    return sum(losses) / len(losses)",
     "        losses.append(loss.item())\n", "train", ["one_epoch_runs_on_cpu", "one_epoch_returns_mean_loss"]),
    ("returns_last_loss", "train.py", "        losses.append(loss.item())\n    return sum(losses) / len(losses)",
     "        losses.append(loss.item())\n    return losses[-1]", "train", ["one_epoch_returns_mean_loss"]),
    ("evaluate_no_autocast", "train.py",
     "            with _autocast(device, amp_dtype):\n                losses.append(",
     "            with _autocast(device, None):\n                losses.append(", "train", ["autocast"]),
    ("evaluate_no_mask", "train.py", "\n            inputs = {key: batch[key].to(device) for key in BATCH_KEYS}",
     "\n            inputs = {key: batch[key].to(device) for key in BATCH_KEYS if key != 'attention_mask'}",
     "train", ["evaluate_loss"]),
    ("saves_every_epoch", "train.py", "        saved = valid_loss < best\n", "        saved = True\n", "train",
     ["fit_saves_only_improvements"]),
    ("compares_with_previous_epoch", "train.py", "        if saved:\n            best = valid_loss\n",
     "        best = valid_loss\n        if saved:\n", "train", ["fit_saves_only_improvements"]),
    ("scheduler_not_stepped", "train.py", "        scheduler.step()\n", "", "train", ["fit_learning_rate"]),
    ("lr_ignored", "train.py", "torch.optim.AdamW(params, lr=lr)", "torch.optim.AdamW(params, lr=4e-5)", "train",
     ["fit_learning_rate"]),
    ("fit_autocast_on_cpu", "train.py", "    amp_dtype = torch.float16 if on_cuda else None\n",
     "    amp_dtype = torch.float16 if on_cuda else torch.bfloat16\n", "train", ["fit_optimises_trainable_only"]),
    # predict
    ("float16_inputs", "predict.py", 'encoding["pixel_values"].to(model.dtype)',
     'encoding["pixel_values"].to(torch.float16)', "predict", ["float32_inputs_on_cpu"]),
    ("special_tokens_kept", "predict.py", "skip_special_tokens=True).strip()", "skip_special_tokens=False).strip()",
     "predict", ["no_special_tokens"]),
    ("max_new_tokens_ignored", "predict.py", "**encoding, max_new_tokens=max_new_tokens)",
     "**encoding, max_new_tokens=10)",
     "predict", ["max_new_tokens"]),
    ("adapter_dropped", "predict.py", "    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)",
     "    with open(os.path.join(model_dir, 'adapter_config.json')) as fh:\n"
     "        base = json.load(fh)['base_model_name_or_path']\n"
     "    model = BlipForQuestionAnswering.from_pretrained(base).to(device)", "predict", ["load_for_inference"]),
    ("question_not_padded_as_in_training", "predict.py",
     '        padding="max_length",\n        max_length=QUESTION_MAX_LENGTH,\n        truncation=True,\n', "",
     "predict", ["answer_question"]),
    ("train_mode_at_inference", "predict.py", "    model.eval()\n    return model, processor",
     "    model.train()\n    return model, processor", "predict", ["load_for_inference"]),
    ("processor_from_base", "predict.py", "    processor = BlipProcessor.from_pretrained(model_dir)\n",
     "    with open(os.path.join(model_dir, 'adapter_config.json')) as fh:\n"
     "        base = json.load(fh)['base_model_name_or_path']\n"
     "    processor = BlipProcessor.from_pretrained(base)\n", "predict", ["load_for_inference"]),
    ("batch_decode_list", "predict.py", "    return processor.decode(output[0], skip_special_tokens=True).strip()",
     "    return processor.batch_decode(output, skip_special_tokens=True)", "predict", ["answer_question"]),
    ("max_length_not_max_new_tokens", "predict.py", "**encoding, max_new_tokens=max_new_tokens)",
     "**encoding, max_length=max_new_tokens)", "predict", ["max_new_tokens"]),
    ("keyed_by_data_json_id", "predict.py", "            answers[item_id] = answer_question(",
     "            answers[json.load(open(os.path.join(folder, 'data.json')))['id']] = answer_question(",
     "predict", ["predict_folder_ids"]),
    ("stray_files_read_as_items", "predict.py", "        if not os.path.isdir(folder):\n            continue\n", "",
     "predict", ["predict_folder_ids"]),
    ("keyed_by_int", "predict.py", "            answers[item_id] = answer_question(",
     "            answers[int(item_id)] = answer_question(", "predict", ["predict_folder_ids"]),
    ("keyed_by_question", "predict.py", "            answers[item_id] = answer_question(",
     "            answers[question] = answer_question(", "predict", ["predict_folder_ids"]),
]
# fmt: on


# The feedback a learner reads for a natural mistake: (root-cause check, a phrase of its message or hint).
# The first failed check shown in the exercise is that check or names it ("follows from"), and every other
# failed check of the exercise follows from it: no second hint sends the learner after a bug they do not have.
# a table, one row per line (or two)
# fmt: off
FEEDBACK = {
    "pad_to_512": ("item_shapes", "got shape [512], expected [32]"),
    "labels_unpadded": ("item_shapes", "labels"),
    "no_squeeze": ("item_shapes", "squeeze"),
    "same_data_twice": ("splits", "ds['test'] twice"),
    "valid_fraction_floored": ("splits", "round(0.15 × 24)"),
    "split_not_seeded": ("splits_seeded", "seed"),
    "valid_shuffled": ("valid_loader_in_order", "valid"),
    "task_type_set": ("returns_peft_model", "task_type"),
    "not_a_peft_model": ("returns_peft_model", "PeftModel"),
    "constants_for_every_argument": ("trainable_defaults", "ignores its arguments"),
    "no_attention_mask": ("attention_mask_passed", "attention_mask"),
    "no_train_mode": ("train_mode", "model.train()"),
    "no_zero_grad": ("gradients_zeroed_each_step", "zero_grad"),
    "returns_last_loss": ("one_epoch_returns_mean_loss", "sum(losses) / len(losses)"),
    "forgot_return": ("one_epoch_runs_on_cpu", "loss.item()"),
    "scaler_ignored": ("scaler_used", "scaler.scale"),
    "cuda_autocast": ("autocast", "'cuda'"),
    "evaluate_with_grad": ("evaluate_eval_mode_no_grad", "no_grad"),
    "evaluate_train_mode": ("evaluate_eval_mode_no_grad", "model.eval()"),
    "saves_every_epoch": ("fit_saves_only_improvements", "your validation losses"),
    "compares_with_previous_epoch": ("fit_saves_only_improvements", "beats the best so far"),
    "fixed_gamma": ("fit_learning_rate", "gamma"),
    "adamw_on_everything": ("fit_optimises_trainable_only", "trainable"),
    "batch_decode_list": ("answer_question", "batch_decode"),
    "max_length_not_max_new_tokens": ("max_new_tokens", "max_new_tokens=max_new_tokens"),
    "special_tokens_kept": ("no_special_tokens", "skip_special_tokens=True"),
    "adapter_dropped": ("load_for_inference", "adapter"),
    "keyed_by_question": ("predict_folder_ids", "folder"),
    "zero_grad_between_backward_and_step": ("one_epoch_steps", "zero_grad() ran between backward() and step()"),
    "backward_twice": ("one_epoch_steps", "backward() ran more than once"),
    "scaler_always_used": ("one_epoch_runs_on_cpu", "scaler is an optional argument"),
    "keyed_by_data_json_id": ("predict_folder_ids", "by the id in its data.json"),
    "stray_files_read_as_items": ("predict_folder_ids", "sub-folders only"),
    "keyed_by_int": ("predict_folder_ids", "folder names as they are (str)"),
}
# fmt: on


@pytest.fixture(scope="module")
def grader():
    with Grader(sandbox="none", cache_dir=CACHE, timeout=60) as g:
        yield g


@pytest.fixture(scope="module")
def reference_result(grader):
    return grader.grade(SOLUTIONS)


def test_reference_passes_every_check(reference_result):
    failed = [(c.name, c.message) for c in reference_result.checks() if not c.passed]
    assert not failed
    assert reference_result.score == reference_result.max_score == 100


@pytest.mark.parametrize("defect", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_defect_costs_points_only_in_its_exercise(defect, grader, tmp_path):
    name, file, old, new, exercise, checks = defect
    result = grader.grade(make_submission(tmp_path / name, file, old, new))
    ex = result.exercises[exercise]
    assert ex.score < ex.max_score, f"{name}: no points lost in {exercise}"
    failed = {c.name.split(".", 1)[1]: c for c in ex.checks if not c.passed}
    for check in checks:
        assert check in failed, f"{name}: {exercise}.{check} passed; failed: {sorted(failed)}"
        assert failed[check].message, "a failed check says what was expected and what was got"
        assert failed[check].hint, "a failed check has a hint"
    for other, other_ex in result.exercises.items():
        if other != exercise:
            lost = [(c.name, c.message) for c in other_ex.checks if not c.passed]
            assert not lost, f"{name} cost points in {other}: {lost}"
    if name in FEEDBACK:
        root, phrase = FEEDBACK[name]
        root = f"{exercise}.{root}"
        shown = [c for c in ex.checks if not c.passed and not c.skipped]
        assert shown[0].name == root or shown[0].caused_by == root, (
            f"{name}: the first failed check is {shown[0].name}, not {root}"
        )
        explained = [(c.name, c.hint) for c in shown if c.name != root and c.caused_by != root]
        assert not explained, f"{name}: checks failing for another reason than {root}: {explained}"
        text = f"{failed[root.split('.', 1)[1]].message} {failed[root.split('.', 1)[1]].hint}"
        assert phrase in text, f"{name}: {phrase!r} not in {text!r}"


def test_message_names_shapes(grader, tmp_path):
    result = grader.grade(
        make_submission(
            tmp_path / "p512",
            "dataset.py",
            "            max_length=self.question_max_length,\n",
            "",
        )
    )
    check = next(c for c in result.checks() if c.name == "dataset.item_shapes")
    assert "input_ids: got shape [512], expected [32]" in check.message


def test_messages_in_vietnamese(tmp_path):
    """With lang="vi" a failed check's message is Vietnamese in every writer, with no English got/expected left."""
    import json
    import re

    from grader.reports import writers

    sub = make_submission(
        tmp_path / "vi", "dataset.py", "            max_length=self.question_max_length,\n", ""
    )
    train = sub / "train.py"
    train.write_text(
        train.read_text().replace(
            "        with _autocast(device, amp_dtype):\n            loss = model(",
            '        inputs.pop("attention_mask")\n        with _autocast(device, amp_dtype):\n'
            "            loss = model(",
            1,
        )
    )
    with Grader(sandbox="none", cache_dir=CACHE, timeout=60, lang="vi") as vi:
        result = vi.grade(sub, ["dataset", "train"])
    checks = {c.name: c for c in result.checks()}
    shapes = checks["dataset.item_shapes"].message
    assert (
        shapes == "input_ids: nhận được kích thước [512], mong đợi [32] (độ dài mặc định 32 và 8)"
    )
    mask = checks["train.attention_mask_passed"].message
    assert mask.startswith(
        "4 trên 4 lượt forward khi train không nhận attention_mask (mô hình chỉ nhận ["
    )
    english = re.compile(r"\b(got|expected|raised|differ|times|values)\b")
    for name in ("dataset.item_shapes", "dataset.item_values", "train.attention_mask_passed"):
        message = checks[name].message
        assert message and not english.search(message), (name, message)
        assert "nhận được" in message or "trên" in message or "mong đợi" in message, (name, message)
    assert checks["train.one_epoch_steps"].passed  # each step still uses its own loss's gradient
    assert checks[
        "train.one_epoch_returns_mean_loss"
    ].passed  # the mean of its own losses: not a second mistake
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["lang"] == "vi"
    assert data["exercises"]["dataset"]["checks"][1]["message"] == shapes
    gradescope = json.dumps(writers.to_gradescope(result), ensure_ascii=False)
    junit = writers.to_junit_xml(result)
    for text in (gradescope, junit):
        assert "nhận được kích thước [512], mong đợi [32]" in text and "gợi ý:" in text
        assert "got shape" not in text
