"""A request's CPU time in torch's forward passes and beside them, measured at load."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from analyzers.base import Sampled
from analyzers.cpu import RequestCost
from analyzers.process_worker import cpu_seconds_with_children

log = logging.getLogger(__name__)

# Each analyzer runs the sample this many times; the cheapest run counts, since the first
# one of a new input shape pays one-off costs (oneDNN compiles kernels per shape in bfloat16).
# The analyzers take turns, one run each per round: this machine's speed drifts by up to 2x
# within minutes, and runs of one part back to back, then the other's, once measured torch
# at 108 ms against 62 a few minutes earlier while beside stayed cheap, which flipped the
# layout. Taking turns puts the same drift in both sums.
RUNS = 3

# A document of the length callers send (the bench corpus averages 3,200 characters): news
# prose with names, places and organisations, so that spaCy, the sentence splitter and the
# encoder each do the work a real request asks of them.
SAMPLE_TEXT = (
    "The harbour authority in Rotterdam announced on Tuesday that it will spend 240 million "
    "euros over the next six years on shore power for container ships. Ships moored at the "
    "quays today run their diesel engines to keep the lights and the cranes on, and the "
    "fumes drift over the districts of Delfshaven and Schiedam. Residents have complained "
    "for a decade. Marieke de Vries, who chairs the neighbourhood council, said the plan was "
    'welcome but late. "We have heard promises before," she told reporters outside the city '
    'hall. "This time there is a budget and a date, and we will hold them to both."\n\n'
    "The first connections are planned for the Maasvlakte terminals, where the largest "
    "vessels from Shanghai and Singapore berth. Engineers from Siemens Energy and the Dutch "
    "grid operator TenneT will lay cables from a new substation near the Slufter. Each berth "
    "needs as much power as a small town while a ship is alongside, and the grid in the port "
    "area is already close to its limit. TenneT said the substation would be ready in 2028 "
    "if the permits arrive on time. Shipping lines are divided. Maersk, which has retrofitted "
    "part of its fleet, said it would connect wherever the plugs exist. Smaller operators "
    "worry about the cost of refitting older ships, which can exceed a million euros each.\n\n"
    "The European Commission has pushed ports in this direction for years. From 2030 the "
    "largest container and passenger ships calling at major European ports must use shore "
    "power where it is available, under rules agreed in Brussels. Hamburg and Antwerp have "
    "begun similar projects, and the three ports compete for the same cargo. Analysts at ING "
    "said the investment could tip some contracts towards Rotterdam, because lines that must "
    "cut emissions will favour ports where they can do it without delay. Others were more "
    "cautious. A report by the Delft University of Technology found that fewer than a third "
    "of the ships calling at Rotterdam last year could take shore power without changes.\n\n"
    "Money for the project comes from the port itself, the national climate fund and a loan "
    "from the European Investment Bank. The port's chief executive, Boudewijn Siemons, said "
    "the berths would charge for electricity at close to cost for the first years. He "
    "expects the noise on the quays to fall as well, which matters to the people who live "
    "along the river. Environmental groups called the plan a start. Greenpeace said the "
    "port should also cap the number of cruise ships, whose generators run longest. The city "
    "council will debate the plan in March, and a public consultation opens next month. If "
    "it goes ahead, the first ship should plug in before the end of 2027, and the rest of "
    "the terminals are to follow one by one until the whole port is connected."
)


def measure_request_cost(
    parts: Sequence[tuple[Sampled, bool]], text: str = SAMPLE_TEXT
) -> RequestCost:
    """CPU seconds (every thread of the process and its model processes) that text costs each
    part, summed by kind.

    parts pairs each analyzer with whether its work is torch's forward passes; the rest
    (spaCy, VADER) is the work beside them. Blocking: the loader calls it once the models are
    warm, before any request runs.
    """
    cheapest = [math.inf] * len(parts)
    for _ in range(RUNS):
        for index, (part, _) in enumerate(parts):
            cheapest[index] = min(cheapest[index], _cpu_seconds(part, text))
    torch_seconds = sum(s for s, (_, on_torch) in zip(cheapest, parts, strict=True) if on_torch)
    beside_seconds = sum(
        s for s, (_, on_torch) in zip(cheapest, parts, strict=True) if not on_torch
    )
    cost = RequestCost(torch_seconds=torch_seconds, beside_seconds=beside_seconds)
    log.info(
        "request CPU measured on a %d-character sample: torch %.1f ms, beside %.1f ms",
        len(text),
        torch_seconds * 1000,
        beside_seconds * 1000,
    )
    return cost


def _cpu_seconds(part: Sampled, text: str) -> float:
    # spaCy and VADER run in child processes (analyzers/process_worker.py): their CPU counts.
    began = cpu_seconds_with_children()
    part.run_sample(text)
    return cpu_seconds_with_children() - began
