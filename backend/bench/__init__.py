"""Bench: DeepBench sweeps (Table 2, Table 3, Figure 7) and DeepQA evaluations (Figure 4), Qt-free.

A sweep runs ordinary design sessions headless (:mod:`backend.bench.sweep`), records one row per
run (:mod:`backend.bench.records`) and aggregates them (:mod:`backend.bench.aggregate`,
:mod:`backend.bench.report`). DeepQA scores multiple-choice questions (:mod:`backend.bench.deepqa`,
:mod:`backend.bench.loglik`). Program runs may go to a Ray cluster (:mod:`backend.bench.ray_executor`).
"""
