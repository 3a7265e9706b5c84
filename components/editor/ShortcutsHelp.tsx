'use client';
/** The keyboard shortcuts, listed under "?". */
export const SHORTCUTS: [string, string][] = [
  ['P', 'Presets gallery (load a model as an editable graph)'],
  ['/', 'Search the palette'],
  ['Enter (on a palette item)', 'Add it under the selected block, connected (a stream block after a stream block; a Residual also gets its skip)'],
  ['Drag from an output to an input', 'Connect (refused with a reason if the types differ)'],
  ['Ctrl+Z', 'Undo'],
  ['Ctrl+Shift+Z  or  Ctrl+Y', 'Redo'],
  ['Ctrl+C / Ctrl+V', 'Copy / paste the selection'],
  ['Ctrl+A', 'Select all'],
  ['Shift+drag, Ctrl+click', 'Multi-select'],
  ['Delete / Backspace', 'Delete the selection'],
  ['L', 'Auto-layout (elkjs)'],
  ['F  or  .', 'Fit the view'],
  ['Ctrl+S', 'Save to the server as a named design'],
  ['Ctrl+E / Ctrl+O', 'Export / import the design file'],
  ['?', 'Show or hide this list'],
];

export function isTypingTarget(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal modal--small" role="dialog" aria-label="Keyboard shortcuts" data-testid="shortcuts" onClick={(e) => e.stopPropagation()}>
        <div className="modal-head">
          <h2>Keyboard shortcuts</h2>
          <button onClick={onClose} aria-label="Close">×</button>
        </div>
        <table className="shortcuts">
          <tbody>
            {SHORTCUTS.map(([k, v]) => (
              <tr key={k}>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
