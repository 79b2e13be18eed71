"""The tiny offline BLIP: deterministic, loadable like the real one, and a tokenizer that covers the data."""

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
    assert model.config.text_config.bos_token_id == processor.tokenizer.convert_tokens_to_ids("[DEC]")
    assert model.config.text_config.sep_token_id == processor.tokenizer.sep_token_id


def test_cached_model_is_reused_not_rebuilt(tiny_random_dir):
    stamp = (tiny_random_dir / "complete.json").stat().st_mtime_ns
    assert tiny.tiny_model_dir("tiny-random") == tiny_random_dir
    assert (tiny_random_dir / "complete.json").stat().st_mtime_ns == stamp


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
    import pytest

    with pytest.raises(ValueError, match="tiny-random"):
        tiny.tiny_model_dir("tiny-huge")


def test_vocabulary_has_no_duplicates():
    assert len(set(vocab.tokens())) == len(vocab.tokens())
