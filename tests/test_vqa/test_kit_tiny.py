"""The tiny offline BLIP: deterministic, loadable like the real one, and a tokenizer that covers the data."""

from pathlib import Path

import pytest
import torch
from transformers import BlipForQuestionAnswering, BlipProcessor

from vqa import tiny, vocab
from vqa.data import generate_dataset, read_records


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not():
    a, b, c = tiny.build_random_model(0), tiny.build_random_model(0), tiny.build_random_model(1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_building_does_not_disturb_the_callers_random_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny.build_random_model(0)
    assert torch.equal(torch.rand(3), expected)


def test_saved_folder_loads_with_the_real_from_pretrained_calls(tiny_random_dir):
    model = BlipForQuestionAnswering.from_pretrained(tiny_random_dir)
    processor = BlipProcessor.from_pretrained(tiny_random_dir)
    reference = tiny.build_random_model(0).state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in model.state_dict().items())
    assert processor.tokenizer.model_max_length == 512
    assert processor.tokenizer.bos_token == "[DEC]"
    assert model.config.text_config.bos_token_id == processor.tokenizer.convert_tokens_to_ids(
        "[DEC]"
    )
    assert model.config.text_config.sep_token_id == processor.tokenizer.sep_token_id


SAVED_ONLY = {"architectures", "dtype", "torch_dtype", "transformers_version", "_name_or_path"}


def recipe_fields(config: dict) -> dict:
    """A config's settings without what save_pretrained adds (nested sub-configs alike)."""
    return {
        k: recipe_fields(v) if isinstance(v, dict) else v
        for k, v in config.items()
        if k not in SAVED_ONLY
    }


@pytest.mark.parametrize("name", tiny.TINY_NAMES)
def test_shipped_models_load_and_match_the_recipes_architecture_and_vocabulary(name):
    folder = tiny.tiny_model_dir(name)
    model = BlipForQuestionAnswering.from_pretrained(folder)
    processor = BlipProcessor.from_pretrained(folder)
    assert recipe_fields(model.config.to_diff_dict()) == recipe_fields(
        tiny.build_config().to_diff_dict()
    )
    assert processor.tokenizer.get_vocab() == vocab.token_to_id()
    assert processor.image_processor.to_dict() == tiny.build_processor().image_processor.to_dict()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in tiny.build_random_model(0).state_dict().items()
    }
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    assert (folder / "model.safetensors").stat().st_size < 2_000_000


def test_tiny_models_are_shipped_in_the_package_not_built_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VQA_CACHE", str(tmp_path / "cache"))
    package = Path(tiny.__file__).resolve().parent
    for name in tiny.TINY_NAMES:
        folder = tiny.tiny_model_dir(name)
        assert folder.resolve().is_relative_to(package / "models_data"), folder
    assert not (tmp_path / "cache").exists()


def test_package_data_globs_take_every_shipped_file():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    root = Path(tiny.__file__).resolve().parent
    config = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["vqa"]
    files = [p.relative_to(root) for p in (root / "models_data").rglob("*") if p.is_file()]
    assert files
    assert all(any(f.match(g) for g in globs) for f in files), files


def test_tokenizer_knows_every_word_of_the_generated_questions_and_answers(tmp_path, processor):
    folder = generate_dataset(tmp_path, n_train=150, n_test=0, seed=1)
    unk = processor.tokenizer.unk_token_id
    for record in read_records(folder):
        for text in (record["question"], record["answer"]):
            assert unk not in processor.tokenizer(text).input_ids, text


def test_multi_digit_answers_round_trip_through_the_tokenizer(processor):
    ids = processor.tokenizer("12").input_ids
    assert processor.tokenizer.decode(ids, skip_special_tokens=True) == "12"


def test_image_processor_resizes_to_the_tiny_size(processor):
    from PIL import Image

    pixels = processor(images=Image.new("RGB", (96, 96)), return_tensors="pt").pixel_values
    assert tuple(pixels.shape) == (1, 3, tiny.IMAGE_SIZE, tiny.IMAGE_SIZE)


def test_unknown_tiny_name_is_refused():
    with pytest.raises(ValueError, match="tiny-random"):
        tiny.tiny_model_dir("tiny-huge")


def test_a_missing_shipped_model_says_how_to_rebuild_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tiny, "SHIPPED_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="vqa build-models"):
        tiny.tiny_model_dir("tiny-pretrained")


def test_vocabulary_has_no_duplicates():
    assert len(set(vocab.tokens())) == len(vocab.tokens())
