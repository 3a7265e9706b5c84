'use client';
/**
 * The "Train" tab: the mount point for helper F's TrainingPanel (components/training/).
 * Wiring it: render
 *   <TrainingPanel spec={spec} specError={specError} design={design} preset={preset} name={name} />
 * with the props computed below.
 */
import { useMemo } from 'react';
import { TrainingPanel } from '@/components/training/TrainingPanel';
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
  return <TrainingPanel {...useTrainProps()} />;
}
