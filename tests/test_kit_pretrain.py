"""The demo's base: the shipped tiny-pretrained knows the source style and not the shifted one."""

from vqa import data, evaluate, tiny

# measured on the shipped base (200 held-out items each, seed 11): 35% source style, 9% shifted style
SOURCE_MIN = 0.28
SHIFTED_MAX = 0.15


def source_and_shifted_accuracy(model_dir, tmp_path, n_test=200):
    from transformers import BlipForQuestionAnswering, BlipProcessor

    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    processor = BlipProcessor.from_pretrained(model_dir)
    return {style: evaluate.accuracy(model, processor, data.generate_dataset(
        tmp_path / style, n_train=0, n_test=n_test, seed=11, style=style), "cpu")["exact"]
        for style in ("source", "shifted")}


def test_the_shipped_base_knows_the_source_style_and_not_the_shifted_one(tmp_path):
    """What the demo's gain stands on: a base well below its own-style accuracy on the demo's style."""
    accuracy = source_and_shifted_accuracy(tiny.tiny_model_dir(tiny.TINY_PRETRAINED), tmp_path)
    assert accuracy["source"] >= SOURCE_MIN, accuracy
    assert accuracy["shifted"] <= SHIFTED_MAX, accuracy
