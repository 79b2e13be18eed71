"""Each defect of the seed lab (DESIGN.md) has a test that the reference does not have it."""

import pytest
import torch

from vqa import data


@pytest.fixture()
def splits(reference, small_data):
    return reference.dataset.load_splits(small_data)


@pytest.fixture()
def loaders(reference, splits, processor, small_data):
    train, valid = splits
    image_dir = small_data / data.TRAIN_IMAGES
    return reference.dataset.build_dataloaders(
        reference.dataset.VQADataset(train, processor, image_dir),
        reference.dataset.VQADataset(valid, processor, image_dir),
        batch_size=8,
    )


@pytest.fixture()
def lora_model(reference, tiny_model):
    return reference.lora.build_lora_model(tiny_model)


def test_defect1_train_and_valid_are_disjoint_complete_and_seeded(reference, small_data, splits):
    train, valid = splits
    pids = lambda rs: {r["pid"] for r in rs}
    assert not pids(train) & pids(valid)
    assert pids(train) | pids(valid) == {r["pid"] for r in data.read_records(small_data)}
    assert len(valid) == 4  # 10% of 40
    again = reference.dataset.load_splits(small_data)
    other = reference.dataset.load_splits(small_data, seed=7)
    assert pids(again[1]) == pids(valid)
    assert pids(other[1]) != pids(valid)


def test_defect2_questions_are_padded_to_the_given_length_not_512(
    reference, splits, processor, small_data
):
    item = reference.dataset.VQADataset(
        splits[0], processor, small_data / data.TRAIN_IMAGES, question_max_length=20
    )[0]
    assert item["input_ids"].shape == (20,)
    assert item["attention_mask"].shape == (20,)


def test_defect3_labels_are_padded_to_answer_max_length(reference, splits, processor, small_data):
    dataset = reference.dataset.VQADataset(
        splits[0], processor, small_data / data.TRAIN_IMAGES, answer_max_length=6
    )
    shapes = {tuple(dataset[i]["labels"].shape) for i in range(len(dataset))}
    assert shapes == {(6,)}
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert batch["labels"].shape == (4, 6)


def test_item_holds_the_image_of_its_own_pid(reference, splits, processor, small_data):
    from PIL import Image

    dataset = reference.dataset.VQADataset(splits[0], processor, small_data / data.TRAIN_IMAGES)
    record = splits[0][3]
    image = Image.open(small_data / data.TRAIN_IMAGES / record["pid"] / "image.png").convert("RGB")
    expected = processor(images=image, return_tensors="pt").pixel_values[0]
    assert torch.allclose(dataset[3]["pixel_values"], expected)
    assert dataset[3]["pixel_values"].dtype == torch.float32


def _record_forward_kwargs(model):
    seen = []
    model.register_forward_pre_hook(
        lambda m, args, kwargs: seen.append(dict(kwargs)), with_kwargs=True
    )
    return seen


def test_defect4_training_passes_the_attention_mask(reference, lora_model, loaders):
    base = lora_model.get_base_model()
    seen = _record_forward_kwargs(base)
    optimizer = torch.optim.AdamW([p for p in lora_model.parameters() if p.requires_grad], lr=1e-3)
    reference.train.train_one_epoch(lora_model, loaders[0], optimizer, torch.device("cpu"))
    assert seen and all(k.get("attention_mask") is not None for k in seen)


def test_defect5_validation_computes_no_gradients(reference, lora_model, loaders):
    grad_modes = []
    lora_model.get_base_model().register_forward_hook(
        lambda *a: grad_modes.append(torch.is_grad_enabled())
    )
    before = {n: p.detach().clone() for n, p in lora_model.named_parameters()}
    loss = reference.train.evaluate(lora_model, loaders[1], torch.device("cpu"))
    assert grad_modes and not any(grad_modes)
    assert not lora_model.training
    assert isinstance(loss, float) and loss > 0
    assert all(torch.equal(p, before[n]) for n, p in lora_model.named_parameters())


@pytest.mark.filterwarnings(
    "ignore:Detected call of `lr_scheduler.step\\(\\)` before"
)  # training is faked here
def test_defect6_best_model_tracking_works_past_epoch_two(
    reference, lora_model, loaders, tmp_path, monkeypatch
):
    losses = iter([1.0, 2.0, 0.5, 0.7, 0.4])
    monkeypatch.setattr(reference.train, "evaluate", lambda *a, **k: next(losses))
    monkeypatch.setattr(reference.train, "train_one_epoch", lambda *a, **k: 1.0)
    history = reference.train.fit(
        lora_model, loaders[0], loaders[1], str(tmp_path), "cpu", epochs=5
    )
    assert [h["saved"] for h in history] == [True, False, True, False, True]


def test_defect7_dataloaders_are_built_train_shuffled_and_seeded_valid_in_order(
    reference, splits, processor, small_data
):
    class Index(torch.utils.data.Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            return i

    order = lambda loader: [int(x) for batch in loader for x in batch]
    train_a, valid_a = reference.dataset.build_dataloaders(Index(), Index(), batch_size=8, seed=1)
    train_b, _ = reference.dataset.build_dataloaders(Index(), Index(), batch_size=8, seed=1)
    train_c, _ = reference.dataset.build_dataloaders(Index(), Index(), batch_size=8, seed=2)
    assert order(train_a) == order(train_b) != list(range(32))
    assert order(train_c) != order(train_a)
    assert order(valid_a) == list(range(32))


def test_defect8_scheduler_decays_per_epoch_and_cpu_uses_no_scaler(
    reference, lora_model, loaders, tmp_path, monkeypatch
):
    calls = []
    original = reference.train.train_one_epoch

    def spy(*args, **kwargs):
        calls.append((kwargs.get("scaler"), kwargs.get("amp_dtype")))
        return original(*args, **kwargs)

    monkeypatch.setattr(reference.train, "train_one_epoch", spy)
    history = reference.train.fit(
        lora_model, loaders[0], loaders[1], str(tmp_path), "cpu", epochs=3, lr=1e-3, gamma=0.5
    )
    assert [h["lr"] for h in history] == pytest.approx([1e-3, 5e-4, 2.5e-4])
    assert calls == [(None, None)] * 3
    assert set(history[0]) == {"epoch", "train_loss", "valid_loss", "lr", "saved"}


def test_defect9_autocast_follows_the_device_so_cpu_works(reference, lora_model, loaders):
    states = []
    lora_model.get_base_model().register_forward_hook(
        lambda *a: states.append(torch.is_autocast_enabled("cpu"))
    )
    optimizer = torch.optim.AdamW([p for p in lora_model.parameters() if p.requires_grad], lr=1e-3)
    reference.train.train_one_epoch(
        lora_model, loaders[0], optimizer, torch.device("cpu"), amp_dtype=torch.bfloat16
    )
    assert states and all(states)
    states.clear()
    reference.train.train_one_epoch(lora_model, loaders[0], optimizer, torch.device("cpu"))
    assert states and not any(states)


def test_the_given_scaler_is_used(reference, lora_model, loaders):
    class SpyScaler:
        def __init__(self):
            self.calls = []

        def scale(self, loss):
            self.calls.append("scale")
            return loss

        def step(self, optimizer):
            self.calls.append("step")
            optimizer.step()

        def update(self):
            self.calls.append("update")

    scaler = SpyScaler()
    optimizer = torch.optim.AdamW([p for p in lora_model.parameters() if p.requires_grad], lr=1e-3)
    reference.train.train_one_epoch(
        lora_model, loaders[0], optimizer, torch.device("cpu"), scaler=scaler
    )
    assert scaler.calls == ["scale", "step", "update"] * len(loaders[0])


def test_defect10_prediction_keeps_inputs_in_the_model_dtype(
    reference, tiny_model, processor, small_data
):
    from PIL import Image

    dtypes = []
    tiny_model.vision_model.register_forward_pre_hook(
        lambda m, args, kwargs: dtypes.append((args[0] if args else kwargs["pixel_values"]).dtype),
        with_kwargs=True,
    )
    image = Image.open(next((small_data / data.TEST_DIR).rglob("image.png")))
    answer = reference.predict.answer_question(
        tiny_model, processor, image, "How many stars are there?", "cpu", max_new_tokens=3
    )
    assert dtypes == [torch.float32]
    assert isinstance(answer, str) and "[SEP]" not in answer and "[DEC]" not in answer
    assert len(processor.tokenizer(answer, add_special_tokens=False).input_ids) <= 3


def test_defect11_an_adapter_only_folder_loads_for_inference(
    reference, lora_model, processor, tmp_path
):
    lora_model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "adapter_config.json").is_file() and not (tmp_path / "config.json").exists()
    model, loaded_processor = reference.predict.load_for_inference(str(tmp_path), "cpu")
    assert not model.training
    names = [n for n, _ in model.named_parameters()]
    assert any("lora_" in n for n in names)


def test_defect12_the_exercise_text_says_blip_not_blip2():
    from vqa.impl import resolve_folder

    text = (resolve_folder("exercises") / "lora.py").read_text()
    assert (
        "BlipForQuestionAnswering" in text and "BLIP-2" in text
    )  # names the seed's mix-up and the real class


def test_lora_trains_only_adapters(reference, tiny_model):
    model = reference.lora.build_lora_model(tiny_model, r=4, target_modules=("query",))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert all(".query." in n for n in trainable)
    assert not any("bias" in n for n in trainable)
