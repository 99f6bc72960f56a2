"""The tool catalogue, categories and text the sample generator draws from.

Kept apart from the generator so that the generator reads as the story of one
conversation, and so tests can name the tools and categories without
re-declaring them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    properties: dict[str, dict]
    required: tuple[str, ...] = field(default_factory=tuple)

    def json_schema(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": {
                "type": "object",
                "properties": self.properties,
                "required": list(self.required),
            },
        }


def _s(description: str) -> dict:
    return {"type": "string", "description": description}


def _i(description: str) -> dict:
    return {"type": "integer", "description": description}


def _b(description: str) -> dict:
    return {"type": "boolean", "description": description}


_LONG = (
    " Use this tool whenever the task needs it; prefer it over guessing. Results are"
    " returned as JSON. Large outputs are truncated, so narrow the request where you can,"
    " and check the result before relying on it in the next step."
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "terminal",
        "Execute a shell command in the sandboxed Linux environment and return its output,"
        " exit code and error." + _LONG,
        {
            "command": _s("The shell command to run."),
            "timeout": _i("Seconds before the command is killed (default 180)."),
            "background": _b("Run in the background and return a session id."),
        },
        ("command",),
    ),
    ToolSpec(
        "read_file",
        "Read a text file with line numbers. Supports offset and limit for large files." + _LONG,
        {
            "path": _s("Path of the file to read."),
            "offset": _i("First line to read (1-based)."),
            "limit": _i("Maximum number of lines to read."),
        },
        ("path",),
    ),
    ToolSpec(
        "write_file",
        "Write content to a file, creating parent directories. Overwrites existing files." + _LONG,
        {"path": _s("Destination path."), "content": _s("Full file content.")},
        ("path", "content"),
    ),
    ToolSpec(
        "search_files",
        "Search file contents with a regular expression, or find files by glob." + _LONG,
        {
            "pattern": _s("Regular expression or glob to search for."),
            "path": _s("Directory to search in (default: working directory)."),
            "file_glob": _s("Restrict the search to files matching this glob."),
        },
        ("pattern",),
    ),
    ToolSpec(
        "patch",
        "Replace an exact string in a file with a new string (fuzzy whitespace matching)." + _LONG,
        {
            "path": _s("File to patch."),
            "old_string": _s("Text to replace."),
            "new_string": _s("Replacement text."),
        },
        ("path", "old_string", "new_string"),
    ),
    ToolSpec(
        "process",
        "Manage background processes started by the terminal tool: poll, wait, kill." + _LONG,
        {"action": _s("One of list, poll, wait, kill."), "session_id": _s("Process session id.")},
        ("action",),
    ),
    ToolSpec(
        "execute_code",
        "Run a Python script in a sandbox with the agent tools importable as functions." + _LONG,
        {"code": _s("Python source to run.")},
        ("code",),
    ),
    ToolSpec(
        "todo",
        "Maintain the session's task list: add, update and complete items." + _LONG,
        {"todos": {"type": "array", "description": "The full list of todo items.", "items": {"type": "object"}}},
        ("todos",),
    ),
    ToolSpec(
        "memory",
        "Save or remove durable facts in persistent memory across sessions." + _LONG,
        {"action": _s("add, replace or remove."), "content": _s("The fact to store.")},
        ("action",),
    ),
    ToolSpec(
        "session_search",
        "Search transcripts of past sessions for context the user already gave." + _LONG,
        {"query": _s("What to look for.")},
        ("query",),
    ),
    ToolSpec(
        "skill_view",
        "Load the full instructions of a saved skill by name." + _LONG,
        {"name": _s("Skill name.")},
        ("name",),
    ),
    ToolSpec("skills_list", "List the saved skills with one-line descriptions." + _LONG, {}, ()),
    ToolSpec(
        "delegate_task",
        "Hand a self-contained sub-task to a sub-agent and receive its summary." + _LONG,
        {"goal": _s("What the sub-agent must achieve."), "context": _s("Facts it needs.")},
        ("goal",),
    ),
    ToolSpec(
        "cronjob",
        "Create, list or remove scheduled jobs that run a prompt on a cron schedule." + _LONG,
        {
            "action": _s("create, list or remove."),
            "schedule": _s("Cron expression or interval such as 'every 2h'."),
            "prompt": _s("What the job should do when it runs."),
        },
        ("action",),
    ),
    ToolSpec("clarify", "Ask the user a clarifying question and wait for the answer." + _LONG, {"question": _s("The question.")}, ("question",)),
    ToolSpec("browser_navigate", "Open a URL in the browser." + _LONG, {"url": _s("The URL to open.")}, ("url",)),
    ToolSpec("browser_snapshot", "Return the accessibility tree of the current page with element refs." + _LONG, {"full": _b("Include hidden elements.")}, ()),
    ToolSpec("browser_click", "Click an element by its ref from the last snapshot." + _LONG, {"ref": _s("Element ref, e.g. @e12.")}, ("ref",)),
    ToolSpec("browser_type", "Type text into an input element." + _LONG, {"ref": _s("Element ref."), "text": _s("Text to type.")}, ("ref", "text")),
    ToolSpec("browser_scroll", "Scroll the page up or down." + _LONG, {"direction": _s("up or down.")}, ("direction",)),
    ToolSpec("browser_back", "Go back to the previous page." + _LONG, {}, ()),
    ToolSpec("browser_press", "Press a keyboard key such as Enter or Escape." + _LONG, {"key": _s("Key name.")}, ("key",)),
    ToolSpec("browser_vision", "Ask a vision model a question about a screenshot of the page." + _LONG, {"question": _s("What to look for.")}, ("question",)),
    ToolSpec("browser_close", "Close the browser session." + _LONG, {}, ()),
)

TOOLS_BY_NAME: dict[str, ToolSpec] = {tool.name: tool for tool in TOOLS}

CORE_TOOLS = tuple(t.name for t in TOOLS if not t.name.startswith("browser_"))
BROWSER_TOOLS = tuple(t.name for t in TOOLS if t.name.startswith("browser_"))

CATEGORIES: dict[str, tuple[str, ...]] = {
    "Terminal & Coding": ("Debugging", "Scripting", "Environment Setup", "Data Processing"),
    "Agent Tools": ("Memory Management", "Skill Management", "Delegation", "Todo Planning"),
    "Repository Tasks": ("Bug Fix", "Feature Implementation", "Testing", "Refactoring"),
    "Browser Automation": ("Web Research", "Form Filling", "Data Extraction", "Navigation"),
    "Multi-Tool": ("Research & Report", "Data Pipeline", "System Administration"),
    "File Operations": ("File Search", "File Editing", "Organization"),
    "Scheduling": ("Cron Jobs", "Reminders"),
    "Planning & Organization": ("Project Planning", "Task Breakdown"),
    "Conversational": ("General Knowledge", "Advice", "Explanation"),
}

# Which tools an agent reaches for, per category, most likely first.
CATEGORY_TOOLS: dict[str, tuple[str, ...]] = {
    "Terminal & Coding": ("terminal", "read_file", "write_file", "search_files", "execute_code", "patch", "process"),
    "Agent Tools": ("memory", "todo", "skill_view", "skills_list", "delegate_task", "session_search", "terminal"),
    "Repository Tasks": ("terminal", "read_file", "search_files", "patch", "write_file", "todo"),
    "Browser Automation": ("browser_navigate", "browser_snapshot", "browser_click", "browser_type", "browser_scroll", "browser_vision", "browser_back", "browser_press", "browser_close"),
    "Multi-Tool": ("terminal", "browser_navigate", "browser_snapshot", "read_file", "write_file", "execute_code", "delegate_task"),
    "File Operations": ("read_file", "search_files", "write_file", "patch", "terminal"),
    "Scheduling": ("cronjob", "todo", "terminal", "memory"),
    "Planning & Organization": ("todo", "memory", "write_file", "read_file", "clarify"),
    "Conversational": ("session_search", "memory"),
}

TASK_OPENERS: dict[str, tuple[str, ...]] = {
    "Debugging": ("The test suite in ~/app fails with an ImportError after upgrading pandas, find the cause and fix it.",),
    "Scripting": ("Write a bash script that rotates the logs in /var/log/myapp and keeps the last seven days.",),
    "Environment Setup": ("Set up a Python 3.11 virtual environment for the project in ~/service and install its requirements.",),
    "Data Processing": ("Parse the CSV files in ~/data/sales and report the total revenue per region for 2024.",),
    "Memory Management": ("Remember that I prefer tabs over spaces and that my staging server is called atlas.",),
    "Skill Management": ("Save the deployment procedure we just used as a reusable skill called deploy-flask.",),
    "Delegation": ("Split the migration of the three microservices into sub-tasks and delegate the database part.",),
    "Todo Planning": ("Plan the release of version 2.3 as a todo list with owners and due dates.",),
    "Bug Fix": ("Fix the off-by-one error in the pagination helper of the httpx repository and add a regression test.",),
    "Feature Implementation": ("Add a --json flag to the CLI in the rich repository that prints the output as JSON.",),
    "Testing": ("Raise the test coverage of the utils module in the requests repository above 90 percent.",),
    "Refactoring": ("Refactor the config loader in the flask repository to use dataclasses instead of dicts.",),
    "Web Research": ("Find the three most recent releases of DuckDB and summarise what changed in each.",),
    "Form Filling": ("Fill in the contact form on the staging site with the test user's details and submit it.",),
    "Data Extraction": ("Extract the table of GPU prices from the vendor's pricing page into a CSV file.",),
    "Navigation": ("Open the project wiki and find the page that documents the on-call rotation.",),
    "Research & Report": ("Compare the memory use of three JSON libraries on a 1 GB file and write a short report.",),
    "Data Pipeline": ("Download the daily weather export, clean it and load it into the SQLite database in ~/weather.",),
    "System Administration": ("Check why the nginx service keeps restarting on this host and make it stable.",),
    "File Search": ("Find every file under ~/projects that still references the old API endpoint v1/orders.",),
    "File Editing": ("Update the copyright year in the headers of all Python files in ~/lib to 2026.",),
    "Organization": ("Sort the downloads folder into subfolders by file type and remove exact duplicates.",),
    "Cron Jobs": ("Schedule a job that checks the disk usage every two hours and warns me above 85 percent.",),
    "Reminders": ("Remind me every weekday at 9am to review the open pull requests.",),
    "Project Planning": ("Draft a two-week plan for moving our CI from Jenkins to GitHub Actions.",),
    "Task Breakdown": ("Break the onboarding of a new data engineer into concrete tasks for the first week.",),
    "General Knowledge": ("What is the difference between a process and a thread, in practical terms?",),
    "Advice": ("Should I use Postgres or DuckDB for a 50 GB analytics workload that runs nightly?",),
    "Explanation": ("Explain how a B-tree index speeds up range queries, with a small example.",),
}

TASK_DETAILS: tuple[str, ...] = (
    " Keep changes minimal and explain what you did.",
    " Please verify the result before you finish. Report anything unexpected.",
    " Work in the current directory. Don't touch files outside it.",
    " I need this done today, so be efficient.",
    "",
)

THOUGHT_SENTENCES: tuple[str, ...] = (
    "I should start by looking at the current state of the files before changing anything.",
    "The user wants a concrete result, so I will verify each step.",
    "Let me check the directory layout first to see where the configuration lives.",
    "I can run these lookups in parallel since they do not depend on each other.",
    "The output confirms my assumption about the project structure.",
    "There is a simpler way: search for the pattern instead of reading every file.",
    "I need to be careful not to overwrite the user's local changes.",
    "Now I have enough information to make the change.",
    "The next step is to run the tests and confirm nothing else broke.",
    "This matches what the documentation says, so I can proceed.",
)

ERROR_THOUGHTS: tuple[str, ...] = (
    "That failed. The error says the command or file was not found, so my assumption about the environment was wrong.",
    "The previous call returned an error. I should read the message carefully and adjust the arguments rather than retry blindly.",
    "The exit code was non-zero; the traceback points at a missing module, so I need to install it or change the import.",
    "Let me try a different approach since the last one did not work.",
)

FINAL_ANSWERS: tuple[str, ...] = (
    "Done. I made the change, verified it, and summarised the steps above.",
    "Here is what I found:\n\n1. The root cause was a stale configuration value.\n2. I updated it and re-ran the checks, which now pass.",
    "The task is complete 🎉 Let me know if you want me to adjust anything.",
    "I could not finish every part: the last step needs credentials I do not have. Everything else is in place.",
)

ITERATION_LIMIT_MESSAGE = (
    "You have reached the maximum number of tool-calling iterations ({n}) for this task."
    " Stop here and summarise your progress."
)

# The system prompt of the real traces: Hermes Agent's trajectory preamble, the tools block, the
# FunctionCall schema and the example call. It names <tools>, <tool_response> and <tool_call> as
# literal text before the real blocks, which is what a parser of it must not trip over.
SYSTEM_PROMPT_HEAD = (
    "You are a function calling AI model. You are provided with function signatures within <tools> </tools> XML tags."
    " You may call one or more functions to assist with the user query. If available tools are not relevant in"
    " assisting with user query, just respond in natural conversational language. Don't make assumptions about what"
    " values to plug into functions. After calling & executing the functions, you will be provided with function"
    " results within <tool_response> </tool_response> XML tags. Here are the available tools:\n<tools>\n"
)

SYSTEM_PROMPT_TAIL = (
    "\n</tools>\nFor each function call return a JSON object, with the following pydantic model json schema for each:\n"
    "{'title': 'FunctionCall', 'type': 'object', 'properties': {'name': {'title': 'Name', 'type': 'string'},"
    " 'arguments': {'title': 'Arguments', 'type': 'object'}}, 'required': ['name', 'arguments']}\n"
    "Each function call should be enclosed within <tool_call> </tool_call> XML tags.\n"
    "Example:\n<tool_call>\n{'name': <function-name>,'arguments': <args-dict>}\n</tool_call>"
)

# Text some deployments put around the Hermes block: a persona before it, house rules after it.
SYSTEM_PROMPT_PERSONA = "You are Hermes Agent, an intelligent AI assistant created by Nous Research.\n\n"
SYSTEM_PROMPT_HOUSE_RULES = (
    "\n\nWork in /workspace. Never print secrets; summarise long outputs instead of pasting them."
)

# A system prompt in another house style: it lists tools and shows a <tool_call>, but is not Hermes's.
CUSTOM_SYSTEM_PROMPT = (
    "You are a terminal agent. Tools you may use, as JSON schemas:\n<tools>\n{tools}\n</tools>\n"
    "Call one with <tool_call>{{\"name\": ..., \"arguments\": {{...}}}}</tool_call> and wait for its result."
)

SECRETS: tuple[tuple[str, str], ...] = (
    ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("github_token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("openai_key", "sk-proj-Tw9xQ3mZr5LkP8vN2cJ7aB4dE6fG1hK0"),
    ("email", "jane.doe@example.com"),
    ("bearer_token", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98Xc3Vw0Qe1\nq2w3e4r5t6y7u8i9o0p\n-----END RSA PRIVATE KEY-----"),
)
