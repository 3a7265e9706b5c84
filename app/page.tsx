import { Editor } from '@/components/editor/Editor';

export default function Home() {
  return <Editor />;
}
