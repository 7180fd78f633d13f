"""Byte-level BPE tokenizer trained on the corpus (GPT-2 conventions: id 0 = <|endoftext|> = BOS/EOS)."""
from __future__ import annotations

from pathlib import Path

BOS = "<|endoftext|>"


def train_tokenizer(docs: list[str], folder: Path, vocab_size: int = 4096, n_ctx: int = 256):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[BOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(docs, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=BOS, pad_token=BOS, unk_token=BOS,
        model_max_length=n_ctx,
    )
    hf.save_pretrained(folder)
    return hf
