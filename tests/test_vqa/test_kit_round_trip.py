"""The reference goes through the whole pipeline on tiny data, and its training loss falls."""

import torch

from vqa import data, metrics


def test_data_to_predictions_round_trip(reference, tiny_model, processor, small_data, tmp_path):
    train, valid = reference.dataset.load_splits(small_data)
    image_dir = small_data / data.TRAIN_IMAGES
    train_loader, valid_loader = reference.dataset.build_dataloaders(
        reference.dataset.VQADataset(train, processor, image_dir),
        reference.dataset.VQADataset(valid, processor, image_dir),
        batch_size=8,
    )
    model = reference.lora.build_lora_model(tiny_model)
    out = tmp_path / "model"
    history = reference.train.fit(
        model, train_loader, valid_loader, str(out), "cpu", epochs=3, lr=3e-3
    )
    processor.save_pretrained(out)
    assert history[0]["saved"] and len(history) == 3
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    loaded, loaded_processor = reference.predict.load_for_inference(str(out), "cpu")
    predictions = reference.predict.predict_folder(
        loaded, loaded_processor, str(small_data / data.TEST_DIR), "cpu"
    )
    answers = data.read_test_answers(small_data)
    assert set(predictions) == set(answers)
    result = metrics.score(predictions, answers)
    assert 0.0 <= result["exact"] <= 1.0 and result["n"] == 8


def test_training_loss_falls_on_tiny_data(reference, tiny_pretrained_dir, tmp_path):
    """LoRA on query/key adapts a pretrained base; on random weights it cannot (the loss stays at ln(vocab))."""
    from transformers import BlipForQuestionAnswering, BlipProcessor

    torch.manual_seed(0)
    tiny_model = BlipForQuestionAnswering.from_pretrained(tiny_pretrained_dir)
    processor = BlipProcessor.from_pretrained(tiny_pretrained_dir)
    small_data = data.generate_dataset(tmp_path, n_train=48, n_test=0, seed=5, style="shifted")
    train, _ = reference.dataset.load_splits(small_data)
    dataset = reference.dataset.VQADataset(train, processor, small_data / data.TRAIN_IMAGES)
    loader, _ = reference.dataset.build_dataloaders(dataset, dataset, batch_size=8)
    model = reference.lora.build_lora_model(tiny_model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = [reference.train.train_one_epoch(model, loader, optimizer, "cpu") for _ in range(4)]
    assert losses[-1] < 0.9 * losses[0], losses
