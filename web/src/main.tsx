// Monaco asks MonacoEnvironment for its workers when the first editor mounts, so this
// must run before GraphiQL renders.
import './monaco-workers';
import 'graphiql/style.css';
import './app.css';
import { createRoot } from 'react-dom/client';
import { App } from './App';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(<App />);
