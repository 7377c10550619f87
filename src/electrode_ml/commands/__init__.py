"""The user commands that are not DVC stages, one module per command (`electrode-ml <command>`).

- `commands.predict`: the trained models' predictions for new compositions.
- `commands.verify`: this run's outputs and metrics against the committed ones.
- `commands.compare`: changed params and SMAE per cell, one column per DVC experiment.
- `commands.bench`: stage and CrabNet timings on this machine.
- `commands.check_params`: params.yaml as a whole, before DVC expands it.
- `commands.stage_progress`: DVC's output with "stage k of n" lines.
- `commands.plots_template`: a DVC plots page that works offline.
- `commands.download`: the data from the Materials Project (needs MP_API_KEY).

May import: every part but `cli`; nothing imports a command (`cli` loads them by name).
"""
