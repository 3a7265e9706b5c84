'use client';
/** The first editor shell: a palette beside a React Flow canvas, and the WebGPU report. */
import { Background, Controls, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import { WebGpuStatus } from './WebGpuStatus';

const PALETTE_GROUPS = [
  { title: 'Memory architecture', items: ['Matrix memory', 'Vector memory', 'MLP memory', 'Softmax attention'] },
  { title: 'Attentional bias', items: ['Dot product', 'ℓ2 (delta)', 'ℓp', 'Huber'] },
  { title: 'Retention gate', items: ['None', 'Constant decay', 'Scalar decay', 'Channel decay'] },
  { title: 'Learning algorithm', items: ['GD step', 'Momentum', 'Implicit GD', 'Chunked GD'] },
];

export function EditorShell() {
  return (
    <div className="shell">
      <aside className="shell-palette" aria-label="Block palette">
        <h1>Miras Studio</h1>
        {PALETTE_GROUPS.map((g) => (
          <section key={g.title}>
            <h2>{g.title}</h2>
            <ul>
              {g.items.map((i) => (
                <li key={i}>{i}</li>
              ))}
            </ul>
          </section>
        ))}
      </aside>
      <main className="shell-canvas" data-testid="canvas">
        <ReactFlowProvider>
          <ReactFlow nodes={[]} edges={[]} fitView>
            <Background />
            <Controls />
          </ReactFlow>
        </ReactFlowProvider>
      </main>
      <aside className="shell-side">
        <WebGpuStatus />
      </aside>
    </div>
  );
}
