'use client';
/**
 * The "Train" tab: the mount point for helper F's TrainingPanel (components/training/).
 * Wiring it: render
 *   <TrainingPanel spec={spec} specError={specError} design={design} preset={preset} name={name} />
 * with the props computed below. Until the training worker builds, the tab says so plainly.
 */
import { useMemo } from 'react';
import { useAnalysis } from './analysisStore';
import { flowToDesign, useEditor } from './store';

export function useTrainProps() {
  const spec = useAnalysis((s) => s.analysis?.spec ?? null);
  const specError = useAnalysis((s) => (s.analysis?.spec ? null : (s.analysis?.issues.find((i) => i.severity === 'error')?.message ?? null)));
  const version = useEditor((s) => s.structureVersion);
  const name = useEditor((s) => s.name);
  const preset = useEditor((s) => s.preset);
  // The snapshot stored with a run: rebuilt when the structure or name changes, not on every move.
  const design = useMemo(() => flowToDesign(useEditor.getState()), [version, name]); // eslint-disable-line react-hooks/exhaustive-deps
  return { spec, specError, design, preset, name };
}

export function TrainTab() {
  const { spec, specError } = useTrainProps();
  return (
    <div className="muted" data-testid="train-slot">
      {spec ? 'Training is not wired into this build yet.' : `Fix the design first: ${specError ?? 'it does not lower to a model.'}`}
    </div>
  );
}
