"""faster-whisper's batched pipeline, with the language chosen per chunk among ours.

Upstream's `multilingual=True` already detects the language of every ~30 s chunk
from the encoder output it computes anyway (no extra cost), but picks among all 99
languages (espeak Kazakh comes out as Turkish or German). This subclass picks the
most likely of the configured languages instead and reports, per segment, which
language it was decoded in and that language's probability.

Written against faster-whisper 1.2.1 (pinned in pyproject.toml): it overrides
`generate_segment_batched` and `forward`.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from faster_whisper import BatchedInferencePipeline


class RestrictedLanguagePipeline(BatchedInferencePipeline):
    def __init__(self, model, languages: tuple[str, ...]):
        super().__init__(model)
        self.languages = languages
        self.segment_languages: deque[tuple[str, float]] = deque()
        self._batch_languages: list[tuple[str, float]] = []

    def _choose(self, ranked: list[tuple[str, float]]) -> tuple[str, float]:
        """Among the configured languages: the likeliest, with its share of their probability."""
        scores = {tok[2:-2]: p for tok, p in ranked if tok[2:-2] in self.languages}
        if not scores:
            return self.languages[0], 0.0
        best = max(scores, key=lambda code: scores[code])
        return best, round(scores[best] / (sum(scores.values()) or 1.0), 4)

    def generate_segment_batched(self, features: np.ndarray, tokenizer, options):
        # As upstream, except for the language choice (see the module docstring).
        prompt = self.model.get_prompt(
            tokenizer,
            previous_tokens=(tokenizer.encode(options.initial_prompt)
                             if options.initial_prompt is not None else []),
            without_timestamps=options.without_timestamps,
            hotwords=options.hotwords,
        )
        max_length = self.model.max_length if options.max_new_tokens is None else \
            min(self.model.max_length, len(prompt) + options.max_new_tokens)
        encoder_output = self.model.encode(features)
        prompts = [prompt.copy() for _ in range(features.shape[0])]
        chosen = [self._choose(langs) for langs in self.model.model.detect_language(encoder_output)]
        index = prompt.index(tokenizer.language)
        for i, (lang, _) in enumerate(chosen):
            prompts[i][index] = tokenizer.tokenizer.token_to_id(f"<|{lang}|>")
        self._batch_languages = chosen
        results = self.model.model.generate(
            encoder_output, prompts, beam_size=options.beam_size, patience=options.patience,
            length_penalty=options.length_penalty, max_length=max_length,
            suppress_blank=options.suppress_blank, suppress_tokens=options.suppress_tokens,
            return_scores=True, return_no_speech_prob=True,
            sampling_temperature=options.temperatures[0],
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
        )
        output = []
        for result in results:
            seq_len = len(result.sequences_ids[0])
            cum_logprob = result.scores[0] * (seq_len ** options.length_penalty)
            output.append(dict(avg_logprob=cum_logprob / (seq_len + 1),
                               no_speech_prob=result.no_speech_prob,
                               tokens=result.sequences_ids[0]))
        return encoder_output, output

    def forward(self, features, tokenizer, chunks_metadata, options):
        outputs = super().forward(features, tokenizer, chunks_metadata, options)
        # Upstream yields each chunk's segments in order: queue their languages to match.
        for chunk_segments, lang in zip(outputs, self._batch_languages):
            self.segment_languages.extend([lang] * len(chunk_segments))
        return outputs
