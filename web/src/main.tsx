import { render } from 'preact';
import { App } from './app';
import './styles/theme.css';
import './styles/controls.css';
import './styles/sections.css';

render(<App />, document.getElementById('app') as HTMLElement);
