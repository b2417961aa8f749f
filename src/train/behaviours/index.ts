// Every built-in behaviour, registered on import.
export {};
