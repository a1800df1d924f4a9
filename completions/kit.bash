# bash completion for kit (terminal chat for LLMs). Install: kit completion bash --install
# or: source /path/to/completions/kit.bash

_kit() {
    local cur prev
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    local flags="-p --print -m --model --api-base --api-key --system-prompt --max-tokens --temperature
        --thinking-level --timeout --json -q --quiet --no-stdin -c --continue -s --session --no-session
        --tools --no-tools --safe --max-steps --auto-compact --debug --version -h --help"
    local models="anthropic/claude-sonnet-4-5 anthropic/claude-opus-4-1 anthropic/claude-haiku-4-5
        openai/gpt-5 openai/gpt-4o openai/gpt-4o-mini gemini/gemini-2.5-pro gemini/gemini-2.5-flash
        ollama/llama3.1 openrouter/deepseek/deepseek-chat"

    if [[ ${COMP_CWORD} -eq 1 && ${cur} != -* ]]; then
        COMPREPLY=($(compgen -W "sessions completion" -- "${cur}"))
        return
    fi
    case "${COMP_WORDS[1]}" in
        sessions)
            COMPREPLY=($(compgen -W "--all --json --cleanup -h --help" -- "${cur}"))
            return ;;
        completion)
            COMPREPLY=($(compgen -W "bash zsh fish --install -h --help" -- "${cur}"))
            return ;;
    esac
    case "${prev}" in
        -m|--model)
            COMPREPLY=($(compgen -W "${models}" -- "${cur}"))
            return ;;
        --thinking-level)
            COMPREPLY=($(compgen -W "off minimal low medium high" -- "${cur}"))
            return ;;
        --tools)
            COMPREPLY=($(compgen -W "read write edit bash ls grep read,ls,grep read,write,edit,bash,ls,grep" -- "${cur}"))
            return ;;
        --system-prompt|-s|--session)
            COMPREPLY=($(compgen -f -- "${cur}"))
            return ;;
        --api-base|--api-key|--max-tokens|--temperature|--timeout|--max-steps)
            return ;;
    esac
    if [[ ${cur} == -* ]]; then
        COMPREPLY=($(compgen -W "${flags}" -- "${cur}"))
    fi
}
complete -o default -F _kit kit
