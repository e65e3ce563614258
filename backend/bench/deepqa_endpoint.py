"""DeepQA's log-likelihood scorer for OpenAI-compatible endpoints (completions with ``echo`` + ``logprobs``)."""

from __future__ import annotations

import json

from backend.bench.mcq import MCQ, DeepQAError, loglik_prompt


class EndpointLoglik:
    """Log-likelihood through an OpenAI-compatible completions API with echo + logprobs.

    Each option is one request: prompt + option echoed with every token's log-probability, one token
    generated (``max_tokens`` 1). An aligned server (vLLM, OpenAI's legacy API) returns one entry per
    echoed prompt token (the first None) and then one for the generated token. llama-cpp-python's server
    (0.3.x), for models that add no BOS token (SmolLM2 among them), pairs each token with the row that
    *follows* it: every value is one position late, and the generated token's entry is missing, so
    dropping "the last entry" threw away a real option token. The values cannot be realigned (the
    needed probabilities are not in the answer), so such a server is refused, found by a probe at start.
    """

    mode = "loglik"
    # Greedy continuations an aligned server answers with a real token (not an end of text) at once.
    PROBES = ("Question: What is 2 + 2?\nAnswer: 4\nQuestion: What is 3 + 3?\nAnswer:",
              "one, two, three, four, five,")

    def __init__(self, spec: str) -> None:
        base, _, model = spec.partition("#")
        self.base = base.rstrip("/")
        self.model = model or "default"
        self.check_alignment()

    def _post(self, prompt: str) -> dict:
        import urllib.error
        import urllib.request

        body = json.dumps({"model": self.model, "prompt": prompt, "max_tokens": 1, "echo": True, "logprobs": 1,
                           "temperature": 0}).encode()
        url = self.base + ("/completions" if self.base.endswith("/v1") else "/v1/completions")
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise DeepQAError(f"{self.base} refused echo+logprobs ({exc.code}); use --mode generate") from exc
        except (OSError, ValueError) as exc:
            raise DeepQAError(f"cannot reach {self.base}: {exc}") from exc

    def _echoed(self, prompt: str) -> tuple[dict, list[int], list[float | None]]:
        choice = self._post(prompt)["choices"][0]
        lp = choice.get("logprobs") or {}
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not offsets or values is None or len(offsets) != len(values):
            raise DeepQAError(f"{self.base} returned no prompt log-probabilities; use --mode generate")
        return choice, list(offsets), list(values)

    def _late_message(self) -> str:
        return (f"{self.base} echoes prompt log-probabilities one token late (llama-cpp-python's server does for "
                "models without a BOS token), so its option scores would be wrong; use --mode generate, or score "
                "the GGUF file locally")

    def check_alignment(self) -> None:
        """The known probe: the greedy token generated after a prompt must come back as the last echoed entry,
        starting where the prompt ends, with the highest log-probability of its position (it is the argmax)."""
        for probe in self.PROBES:
            choice, offsets, values = self._echoed(probe)
            generated = str(choice.get("text", ""))[len(probe):] if choice.get("text", "").startswith(probe) else ""
            if choice.get("finish_reason") != "length" or not generated:
                continue   # ended at once (an end-of-text token has no entry): try the other probe
            if offsets[-1] < len(probe):
                raise DeepQAError(self._late_message())
            top = ((choice.get("logprobs") or {}).get("top_logprobs") or [None])[-1]
            if values[-1] is None or (top and values[-1] < max(top.values()) - 1e-3):
                raise DeepQAError(self._late_message())
            return
        raise DeepQAError(f"{self.base} ended both probe prompts at once, so the alignment of its echoed "
                          "log-probabilities could not be checked; use --mode generate")

    def option_loglik(self, prompt: str, cont: str) -> dict:
        from backend.bench.loglik import choice_chars

        full = prompt + cont
        choice, offsets, values = self._echoed(full)
        if choice.get("finish_reason") == "length" and offsets[-1] < len(full):
            raise DeepQAError(self._late_message())   # the generated token's entry is missing: not aligned
        # The option's tokens: those starting inside it (the generated token starts at len(full) or later).
        picked = [v for off, v in zip(offsets, values, strict=True) if len(prompt) <= off < len(full)]
        if not picked or any(v is None for v in picked):
            raise DeepQAError(f"{self.base} returned no log-probability for option {cont.strip()[:30]!r}")
        return {"loglik": float(sum(picked)), "tokens": len(picked), "chars": choice_chars(cont), "greedy": None}

    def score(self, item: MCQ) -> dict:
        from backend.bench.loglik import choose

        prompt, conts = loglik_prompt(item)
        scores = [self.option_loglik(prompt, c) for c in conts]
        acc, norm = choose(scores)
        letters = list(item.options)
        return {"chosen": letters[acc], "chosen_norm": letters[norm], "detail": {"scores": scores}}

    def close(self) -> None:
        pass
