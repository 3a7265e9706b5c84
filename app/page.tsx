import { EditorShell } from '@/components/shell/EditorShell';

export default function Home() {
  return <EditorShell />;
}
