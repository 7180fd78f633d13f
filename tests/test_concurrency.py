"""One shared model, many sessions: steered and plain runs from 8 threads at once never leak into each other."""
import threading

import numpy as np

from interp.generation import generate
from interp.requests import FeatureSteer, GenerateRequest
from tests.conftest import build_request

SAE = "blocks.2.hook_resid_post"
PROMPTS = ["Elizabeth smiled at Mr. Darcy.", "In the beginning God created", "She walked into the room and",
           "DEVIL, n. The author of all our woes"]


def test_eight_threads_steering_and_plain_runs_stay_bit_identical(backend):
    alone = {p: backend.trace(build_request(prompt=p, saes=(SAE,))) for p in PROMPTS}
    alone_gen = {p: generate(backend, GenerateRequest(build_request(prompt=p, saes=(SAE,)), 12, seed=1)) for p in PROMPTS}
    errors, mismatches = [], []

    def plain(i):
        p = PROMPTS[i % len(PROMPTS)]
        for _ in range(6):
            t = backend.trace(build_request(prompt=p, saes=(SAE,)))
            g = generate(backend, GenerateRequest(build_request(prompt=p, saes=(SAE,)), 12, seed=1))
            if not (np.array_equal(t.next_token_logprobs, alone[p].next_token_logprobs)
                    and np.array_equal(t.attention, alone[p].attention) and g == alone_gen[p]):
                mismatches.append(p)

    def steered(i):
        for k in range(6):
            req = build_request(prompt=PROMPTS[k % len(PROMPTS)], saes=(SAE,),
                                steering=(FeatureSteer(SAE, 10 + i, 25.0 + k, ("add", "clamp", "ablate")[k % 3]),))
            backend.trace(req)
            generate(backend, GenerateRequest(req, 12, seed=1))

    def guarded(fn, i):
        try:
            fn(i)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=guarded, args=(plain if i % 2 else steered, i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and mismatches == []
    assert not any(hp._forward_hooks for hp in backend.model.hook_dict.values())
