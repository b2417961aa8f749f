// Every built-in behaviour, registered on import.
import './bias.js';
import './secrets.js';
