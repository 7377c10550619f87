"""The report's "Screening new electrodes" (paper/SCREENING.md and its tables), from the
`candidates`, `screen` and `discovery` stages' outputs: what was generated, the best candidates of
each working ion with their intervals and novelty, the Pareto front of energy density against
novelty, and the retrospective discovery check."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from electrode_ml.models.registry import DISPLAY_NAMES
from electrode_ml.screening.chemistry import RULES as CHEMISTRY_RULES
from electrode_ml.screening.generation import RULES
from electrode_ml.screening.objectives import OBJECTIVES
from electrode_ml.screening.prediction import prediction_column
from electrode_ml.screening.retrospective import DiscoveryParams
from electrode_ml.screening.screener import SCREENED, ScreenParams, objective_column, screened_rows


def pareto_front(objective, novelty) -> np.ndarray:
    """Whether each candidate is on the Pareto front of high `objective` and low `novelty`: no
    other candidate is at most as novel and at least as good, and better in one of the two."""
    objective, novelty = np.asarray(objective, dtype=float), np.asarray(novelty, dtype=float)
    finite = np.isfinite(objective) & np.isfinite(novelty)
    order = np.flatnonzero(finite)[np.lexsort((-objective[finite], novelty[finite]))]
    front = np.zeros(len(objective), dtype=bool)
    best = -np.inf
    for position in order:
        if objective[position] > best:
            front[position], best = True, objective[position]
    return front


def top_per_ion(screen_dir: Path, ranking: pd.DataFrame, params: ScreenParams) -> pd.DataFrame:
    """The `params.top_per_ion` best-ranked candidates of each working ion (ions by their best
    candidate's rank): rank, composition, ion, its charged and discharged formulas, the ions cycled
    and the redox couple, the rule that made it and its parent, the rank model's voltage, capacity
    and objective with their bounds, novelty and in_domain."""
    objective = OBJECTIVES[params.objective]
    best = ranking.groupby("working_ion", sort=False).head(params.top_per_ion)
    columns = ["row", "charged_composition", "discharged_composition", "inserted_ions", "redox_couple", "rule", "change",
               "parent_battery_id"]
    for target in objective.targets:
        column = prediction_column(params.rank_model, target)
        columns += [column, f"{column}_lower", f"{column}_upper"]
    available = set(screened_columns(screen_dir))
    details = screened_rows(screen_dir / SCREENED, best["row"], [column for column in columns if column in available])
    table = best.merge(details, on="row").sort_values("rank", kind="stable")
    return table.drop(columns="row").reset_index(drop=True)


def screened_columns(screen_dir: Path) -> list[str]:
    import pyarrow.dataset as ds

    return ds.dataset(screen_dir / SCREENED, format="parquet").schema.names


def known_electrodes(metrics: dict) -> list[str]:
    """What the rules say of the known electrodes themselves: why they are judged against a parent."""
    total = metrics.get("candidates.parents", 0)
    if not total or "candidates.known.with_redox_couple" not in metrics:
        return []
    share = {key: metrics[f"candidates.known.{key}"] / total for key in ("balanced_charged", "balanced_discharged",
                                                                         "balanced_both", "with_redox_couple")}
    missing = ", ".join(f"{metrics[f'candidates.known.without_couple.{why}']} {text}" for why, text in (
        ("no_state_change", "where the guessed states do not change"),
        ("no_charge_carrier", "where they move an element that cannot carry the charge (phosphorus, hydrogen)"),
        ("no_guess_charged", "without a balanced guess of the charged state"),
        ("no_guess_discharged", "without one of the discharged state (and not metallic)"),
        ("too_many_sites", "too large to guess (over 48 sites)")))
    return [f"The rules on the {total} known electrodes themselves: SMACT balances {share['balanced_charged']:.1%} "
            f"of their charged states, {share['balanced_discharged']:.1%} of the discharged ones and "
            f"{share['balanced_both']:.1%} in both, so a candidate is held only to the balances its parent had "
            f"(demanding both outright would reject {1 - share['balanced_both']:.1%} of real electrodes). A redox couple "
            f"is found for {share['with_redox_couple']:.1%} ({metrics['candidates.known.alloy']} of them alloys); of "
            f"the rest, {missing}. Their candidates fail the redox rule. The couples of "
            f"{metrics.get('candidates.known.beyond_anion_limit', 0)} known electrodes go above the state their "
            "element takes with the host's anion, or in a fluoride or polyanion framework above a simple fluoride's "
            "(the Materials Project computes hypothetical electrodes too, such as Li3CrF6 charged to CrF6 or ZnCoF4 "
            "to CoF4, and counts multi-electron couples such as Fe2+/Fe4+ in Li2FeSiO4); their ion swaps fail the "
            "`anion_limit` rule.", ""]


def candidate_steps(metrics: dict) -> list[str]:
    """The table of the candidate pool after each step of the candidates stage."""
    steps = [("generated (ion swaps and substitutions)",
              sum(metrics.get(f"candidates.{rule}.generated", 0) for rule in RULES)),
             ("not a known electrode", None), ("not repeating another candidate", metrics.get("candidates.novel"))]
    steps[1] = (steps[1][0], steps[0][1] - metrics.get("candidates.duplicates_of_known", 0))
    pool = metrics.get("candidates.novel", 0)
    for rule in CHEMISTRY_RULES:
        pool -= metrics.get(f"candidates.failed.{rule}", 0)
        steps.append((f"passing `{rule}` ({metrics.get(f'candidates.failed.{rule}', 0)} failed)", pool))
    steps.append(("kept by the cap (`candidates.max_candidates`)", metrics.get("candidates.kept")))
    return ["| step | candidates |", "|---|---:|", *(f"| {name} | {count} |" for name, count in steps)]


def screening_markdown(candidate_metrics: dict, screen_metrics: dict, discovery_metrics: dict, top: pd.DataFrame,
                       scores: pd.DataFrame, errors: pd.DataFrame, params: ScreenParams, discovery: DiscoveryParams,
                       level: float) -> str:
    """paper/SCREENING.md: every number from the three stages' outputs."""
    objective = OBJECTIVES[params.objective]
    column = objective_column(params.rank_model, params.objective)
    ranked_on = "its lower bound" if params.rank_on == "lower" else "its predicted value"
    model = DISPLAY_NAMES[params.rank_model]
    lines = ["# Screening new electrodes", "",
             "Candidates made from the known electrodes, screened by every chosen model with intervals and novelty, "
             f"ranked by {model}'s {objective.name} on {ranked_on}. Made by the `candidates`, `screen` and "
             "`discovery` stages; `electrode-ml screen --candidates FILE --out DIR` screens a list of your own "
             "(docs/screening.md \"Screening new compositions\").", "",
             "## Candidates", "",
             "Each candidate is an electrode: a charged and a discharged formula, the working ion cycled between "
             "them and the redox couple that carries its charge. Both states must be charge-balanced (SMACT) where "
             "the parent's were, an element must change its oxidation state between them, and no higher than it "
             "goes with the host's anion in the ICSD (no Cr6+ or Fe4+ fluoride). The pool after each step:", "", *candidate_steps(candidate_metrics), "",
             f"{candidate_metrics['candidates.kept']} candidates kept: "
             + ", ".join(f"{candidate_metrics[f'candidates.kept.{rule}']} by {rule.replace('_', ' ')}" for rule in RULES
                         if f"candidates.kept.{rule}" in candidate_metrics)
             + " (the cap keeps the most probable changes, ion swaps and substitutions in one order); the rejected "
             "candidates, "
             "each with its rule, are in `results/candidates/rejected.parquet`.", "", *known_electrodes(candidate_metrics),
             "## The screen", "",
             f"{screen_metrics['screen.screened']} screened, {screen_metrics['screen.rejected']} set aside "
             "(rejected.csv names row, column and reason)"
             + (f"; {screen_metrics['screen.outside_window']} predicted outside the physical window "
                f"({params.window().describe()} against the metal, what the ion's electrolytes hold; capacities "
                "not negative) "
                f"are flagged and not ranked, {screen_metrics['screen.ranked']} ranked"
                if "screen.ranked" in screen_metrics else "")
             + (f"; {screen_metrics['screen.in_domain']:.1%} in the domain" if "screen.in_domain" in screen_metrics else "")
             + ". Energy density bounds: each factor's interval at "
             f"{1 - (1 - level) / 2:.1%}, multiplied out, so that the product's interval covers at least {level:.0%}.",
             "", f"The best {params.top_per_ion} of each working ion: [tables/screen_top_candidates]"
             "(tables/screen_top_candidates.md). Figure: [objective_against_novelty]"
             "(figures/evaluation/objective_against_novelty.png), the Pareto front of "
             f"{objective.name} against novelty.", ""]
    if len(top):
        first = top.iloc[0]
        electrode = (f", charged {first['charged_composition']}, couple {first['redox_couple']}"
                     if "redox_couple" in first else "")
        lines += [f"Best overall: {first['composition']} ({first['working_ion']}{electrode}), {objective.name} "
                  f"{first[column]:.0f} [{first[f'{column}_lower']:.0f}, {first[f'{column}_upper']:.0f}] {objective.unit}, "
                  "novelty "
                  f"{first['novelty']:.3g}, {'in' if first['in_domain'] else 'out of'} the domain.", ""]
    lines += ["## Would the screen have found electrodes we know?", "", *discovery_section(
        discovery_metrics, scores, errors, params, discovery, model, objective, level)]
    return "\n".join(lines) + "\n"


def interval(row: pd.Series, score: str, digits: int = 2) -> str:
    """`1.93 [1.20, 2.71]` of a row of the scores table, or an en dash where undefined."""
    if pd.isna(row[score]):
        return "–"
    return f"{row[score]:.{digits}f} [{row[f'{score}_low']:.{digits}f}, {row[f'{score}_high']:.{digits}f}]"


def discovery_section(metrics: dict, scores: pd.DataFrame, errors: pd.DataFrame, params: ScreenParams,
                      discovery: DiscoveryParams, model: str, objective, level: float) -> list[str]:
    """The discovery benchmark's tables and verdict (`screening.retrospective`): the rank model's
    rankings and the baselines in full, each other model rebuilt beside it in one table."""
    ranked_on = params.rank_on
    every_model = scores
    scores = scores[scores["model"] == params.rank_model]
    others = [name for name in dict.fromkeys(every_model["model"]) if name != params.rank_model]
    lines = [f"Each working ion with at least {discovery.min_electrodes} electrodes hidden in turn "
             f"({metrics.get('discovery.ions', 0)} ions): {model}"
             + (f" (and {', '.join(DISPLAY_NAMES[name] for name in others)}, below)" if others else "")
             + " fitted, its intervals calibrated (out-of-fold "
             f"residuals of {discovery.calibration_folds} folds"
             + (" of whole ions, so that they are an unseen ion's" if discovery.calibrate_across_ions else "")
             + ") and its domain fitted on the other ions' electrodes "
             f"only; a hit is an objective ({objective.name}) at least the visible electrodes' "
             f"{discovery.hit_quantile:.0%} quantile. Scores in the top {discovery.top_share:.0%} of each ranking, "
             f"with bootstrap 95% intervals ({discovery.repeats} resamples); a DAF of 1 is what random order gives. "
             "Every number: `results/discovery/scores.csv` "
             "([tables/discovery_scores](tables/discovery_scores.md)).", "",
             "**Labelled test**: every hidden electrode predicted by the model that never saw its ion.", "",
             "| ion | electrodes | hits | F1 | F1 control | DAF point | DAF lower | DAF upper |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    labelled = scores[scores["test"] == "labelled"].set_index(["ion", "ranking"])
    for ion in dict.fromkeys(scores["ion"]):
        if (ion, "point") not in labelled.index:
            continue
        point, control = labelled.loc[(ion, "point")], labelled.loc[(ion, "control")]
        lines.append(f"| {ion} | {int(point['size'])} | {int(point['hits'])} | {interval(point, 'f1')} | "
                     f"{control['f1']:.2f} | {interval(point, 'daf')} | "
                     f"{interval(labelled.loc[(ion, 'lower')], 'daf')} | "
                     f"{interval(labelled.loc[(ion, 'upper')], 'daf')} |")
    lines += ["", f"Errors on the hidden ion, and how often its {level:.0%} interval (calibrated on the other ions) "
              "holds the truth:", "", "| ion | model | target | MAE | SMAE | coverage |", "|---|---|---|---:|---:|---:|"]
    for row in errors.itertuples():
        lines.append(f"| {row.ion} | {DISPLAY_NAMES[row.model]} | {row.target} | {row.mae:.3g} | {row.smae:.3f} | "
                     f"{row.coverage:.1%} |")
    lines += ["", "**Generation test**: the hidden ion's candidates made from the other ions' electrodes (ion swaps; "
              "no cap), a hit one that re-creates a hidden electrode that is a hit, counted once per candidate; a "
              "candidate that re-creates nothing counts as a miss, so precision is a lower bound.", "",
              f"| ion | candidates | re-creating | hits | DAF {ranked_on} | DAF point | DAF parent's objective | "
              f"DAF {ranked_on} minus parent's |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    generation = scores[scores["test"] == "generation"].set_index(["ion", "ranking"])
    for ion in dict.fromkeys(scores["ion"]):
        if (ion, "point") not in generation.index:
            continue
        chosen = generation.loc[(ion, ranked_on)]
        lines.append(f"| {ion} | {int(chosen['size'])} | {metrics.get(f'discovery.{ion}.recreating', 0)} | "
                     f"{int(chosen['hits'])} | {interval(chosen, 'daf')} | "
                     f"{interval(generation.loc[(ion, 'point')], 'daf')} | "
                     f"{interval(generation.loc[(ion, 'parent')], 'daf')} | "
                     f"{interval(chosen, 'daf_minus_parent')} |")
    if others:
        lines += ["", f"**Every model on the same sets** (`profiles.<profile>.discovery.models`): F1 of the point "
                  f"value and DAF on {ranked_on}, each with its paired difference from random order.", "",
                  f"| ion | test | model | F1 | DAF {ranked_on} | minus random |", "|---|---|---|---:|---:|---:|"]
        chosen = every_model[every_model["ranking"] == ranked_on].set_index(["ion", "test", "model"])
        points = every_model[every_model["ranking"] == "point"].set_index(["ion", "test", "model"])
        for ion, test, name in chosen.index:
            row = chosen.loc[(ion, test, name)]
            lines.append(f"| {ion} | {test} | {DISPLAY_NAMES[name]} | {interval(points.loc[(ion, test, name)], 'f1')} | "
                         f"{interval(row, 'daf')} | {interval(row, 'daf_minus_random')} |")
    lines += ["", f"**Verdict**: {metrics.get('discovery.verdict', '')}"]
    return lines


def screening_claim_section(discovery_metrics: dict) -> list[str]:
    """REPRODUCTION.md's answer to the paper's screening claim, from the discovery benchmark."""
    return ["## Is composition-only screening better than chance? (the paper's conclusion)", "",
            "The paper calls these models \"highly effective for early-stage compositional screening\". The discovery "
            "benchmark hides each working ion in turn and asks whether the screen ranks that ion's known good "
            "electrodes above chance and above a naive ranking ([SCREENING.md](SCREENING.md)). From this run:", "",
            discovery_metrics.get("discovery.verdict", "(no discovery benchmark in this run)"), ""]
