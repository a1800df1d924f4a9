# fish completion for kit (terminal chat for LLMs). Install: kit completion fish --install

set -l kit_models anthropic/claude-sonnet-4-5 anthropic/claude-opus-4-1 anthropic/claude-haiku-4-5 \
    openai/gpt-5 openai/gpt-4o openai/gpt-4o-mini gemini/gemini-2.5-pro gemini/gemini-2.5-flash \
    ollama/llama3.1 openrouter/deepseek/deepseek-chat

complete -c kit -f
complete -c kit -n __fish_use_subcommand -a sessions -d 'List saved sessions of this directory'
complete -c kit -n __fish_use_subcommand -a completion -d 'Print or install shell completion'
complete -c kit -n '__fish_seen_subcommand_from sessions' -l all -d 'Sessions of every directory'
complete -c kit -n '__fish_seen_subcommand_from sessions' -l json -d 'One JSON object per session'
complete -c kit -n '__fish_seen_subcommand_from sessions' -l cleanup -d 'Delete old empty session files'
complete -c kit -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish' -d 'Shell'
complete -c kit -n '__fish_seen_subcommand_from completion' -l install -d 'Install for this user'

complete -c kit -s p -l print -d 'Answer once and exit'
complete -c kit -s m -l model -x -a "$kit_models" -d 'litellm model string'
complete -c kit -l api-base -x -d 'Base URL of the provider API'
complete -c kit -l api-key -x -d 'API key'
complete -c kit -l system-prompt -r -F -d 'System prompt text or @file'
complete -c kit -l max-tokens -x -d 'Cap on answer tokens'
complete -c kit -l temperature -x -d 'Sampling temperature'
complete -c kit -l thinking-level -x -a 'off minimal low medium high' -d 'Reasoning effort'
complete -c kit -l timeout -x -d 'Seconds before giving up'
complete -c kit -l json -d 'Print one JSON object'
complete -c kit -s q -l quiet -d 'Print only the final text'
complete -c kit -l no-stdin -d 'Ignore piped stdin'
complete -c kit -s c -l continue -d 'Continue the most recent session'
complete -c kit -s s -l session -r -F -d 'Open a session by path or id prefix'
complete -c kit -l no-session -d 'Keep everything in memory'
complete -c kit -l tools -x -a 'read write edit bash ls grep read,ls,grep' -d 'Tools to offer'
complete -c kit -l no-tools -d 'Offer the model no tools'
complete -c kit -l safe -d 'Ask before any write, edit or bash action'
complete -c kit -l max-steps -x -d 'Most model steps per turn'
complete -c kit -l auto-compact -d 'Compact before a turn that would overflow'
complete -c kit -l debug -d 'Show litellm logs and tracebacks'
complete -c kit -l version -d 'Show the version'
complete -c kit -s h -l help -d 'Show help'
