"""Bid-rigging screens and the collusion model.

Collusion among bidders is the scheme that the simple red flags miss: the winner looks like any other
winner, the price looks like any other price. What gives a ring away is the *distribution* of the bids in
a tender: cover bids placed close together and above the designated winner, identical prices, fixed gaps,
winners taking turns. Competition authorities screen for it with statistics of the bids of each tender
(Imhof 2017; Huber & Imhof 2019; García Rodríguez et al. 2022), and this package computes them
(`screens`), adds what pairs and groups of firms do together (`pairs`), and learns a tender-level
classifier from labelled cartel cases (`model`).
"""

from __future__ import annotations

from aiqyn.collusion.screens import SCREENS, screens

__all__ = ["SCREENS", "screens"]
