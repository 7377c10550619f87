"""Screening new electrodes: candidates made from the known electrodes, their predictions with intervals and novelty, energy density, and the retrospective discovery check."""
