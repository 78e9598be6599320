// The advisor's decision tree: "should I fine-tune?" as pure data and functions, so every
// path can be tested without React. The UI asks `nextQuestion(answers)` until it returns
// null, then shows `decide(answers)`.

export type Problem = 'knowledge' | 'style' | 'behavior' | 'preference' | 'cost';
export type Prompting = 'not-yet' | 'works' | 'not-enough';
export type KnowledgeKind = 'missing' | 'changing';
export type DataAmount = 'none' | 'few' | 'enough';

export interface Answers {
  problem?: Problem;
  knowledge?: KnowledgeKind;
  prompting?: Prompting;
  data?: DataAmount;
  /** Preference tuning: prompts with a better and a worse answer. */
  pairs?: DataAmount;
}

export type RecommendationId = 'prompt' | 'keep-prompting' | 'retrieval' | 'few-shot' | 'fine-tune' | 'preference-tune' | 'collect-pairs' | 'fine-tune-smaller' | 'collect-data';

export interface Recommendation {
  id: RecommendationId;
  title: string;
  /** Why this follows from the answers, one sentence per answer that mattered. */
  why: string[];
  /** What it really costs (data work, hardware, maintenance). */
  costs: string[];
  /** True when the next step is this studio's data → model → train path. */
  fineTune: boolean;
  next: string[];
}

export interface Choice<V extends string> {
  value: V;
  label: string;
  hint: string;
}

export type Question =
  | { key: 'problem'; text: string; choices: Choice<Problem>[] }
  | { key: 'knowledge'; text: string; choices: Choice<KnowledgeKind>[] }
  | { key: 'prompting'; text: string; choices: Choice<Prompting>[] }
  | { key: 'data'; text: string; choices: Choice<DataAmount>[] }
  | { key: 'pairs'; text: string; choices: Choice<DataAmount>[] };

/** Below this many good examples a LoRA rarely learns anything reliable (FORMATS.md, data screen). */
export const ENOUGH_EXAMPLES = 200;
/** Preference pairs DPO/ORPO needs before the preference shows reliably on held-out prompts. */
export const ENOUGH_PAIRS = 300;

export const QUESTIONS = {
  problem: {
    key: 'problem',
    text: 'What is the model getting wrong?',
    choices: [
      { value: 'knowledge', label: 'It does not know things', hint: 'facts about your product, documents, recent events' },
      { value: 'style', label: 'Style, tone or format', hint: 'answers should sound like you, or always come back as JSON' },
      { value: 'behavior', label: 'A narrow task, done inconsistently', hint: 'classification, extraction, following a procedure' },
      { value: 'preference', label: 'It answers, but not the way you prefer', hint: 'you can look at two answers and say which one is better' },
      { value: 'cost', label: 'A big model works, but it is too slow or costly', hint: 'you want the same answers from a smaller model' },
    ],
  },
  knowledge: {
    key: 'knowledge',
    text: 'Is the knowledge missing, or does it change over time?',
    choices: [
      { value: 'missing', label: 'Missing but stable', hint: 'a manual, a catalogue, a code base' },
      { value: 'changing', label: 'It changes', hint: 'prices, tickets, news, anything updated weekly' },
    ],
  },
  prompting: {
    key: 'prompting',
    text: 'Have you tried a careful prompt with a few examples in it?',
    choices: [
      { value: 'not-yet', label: 'Not yet', hint: 'a system prompt, clear instructions, 3–5 examples' },
      { value: 'works', label: 'Yes, and it works well enough', hint: '' },
      { value: 'not-enough', label: 'Yes, and it is not enough', hint: 'inconsistent, too long a prompt, or still wrong' },
    ],
  },
  data: {
    key: 'data',
    text: `How many good input → output examples do you have (or can you write or collect)?`,
    choices: [
      { value: 'none', label: 'Hardly any', hint: 'fewer than 20' },
      { value: 'few', label: 'Some', hint: `20 to ${ENOUGH_EXAMPLES - 1}` },
      { value: 'enough', label: 'Plenty', hint: `${ENOUGH_EXAMPLES} or more` },
    ],
  },
  pairs: {
    key: 'pairs',
    text: 'How many prompts do you have with a better and a worse answer to each (or can you rank two of the model’s own answers)?',
    choices: [
      { value: 'none', label: 'Hardly any', hint: 'fewer than 50' },
      { value: 'few', label: 'Some', hint: `50 to ${ENOUGH_PAIRS - 1}` },
      { value: 'enough', label: 'Plenty', hint: `${ENOUGH_PAIRS} or more` },
    ],
  },
} as const satisfies Record<Question['key'], Question>;

/** The next unanswered question on this path, or null when a recommendation is ready. */
export function nextQuestion(a: Answers): Question | null {
  if (!a.problem) return QUESTIONS.problem as Question;
  if (a.problem === 'knowledge') return a.knowledge ? null : (QUESTIONS.knowledge as Question);
  if (!a.prompting) return QUESTIONS.prompting as Question;
  if (a.problem === 'cost') return a.data ? null : (QUESTIONS.data as Question);
  if (a.prompting === 'not-yet' || a.prompting === 'works') return null;
  if (a.problem === 'preference') return a.pairs ? null : (QUESTIONS.pairs as Question);
  return a.data ? null : (QUESTIONS.data as Question);
}

const COSTS = {
  data: (n: string) => `Data work: ${n} clean, representative examples, checked by a person. This is usually most of the effort.`,
  gpu: 'A GPU with enough memory: the base model, its activations and the LoRA optimizer state must fit (the machine check below estimates it).',
  maintenance: 'Maintenance: re-train when the base model or your task changes, and keep an evaluation set to catch regressions.',
  retrievalInfra: 'An index of your documents (embeddings or search) kept up to date, and a prompt that cites what it retrieves.',
  tokens: 'Every request carries the examples, so prompts get longer, slower and costlier.',
};

const RECOMMENDATIONS: Record<RecommendationId, Omit<Recommendation, 'why'>> = {
  prompt: {
    id: 'prompt',
    title: 'Start with a better prompt',
    costs: ['An hour of writing and testing a system prompt and a few examples.', 'No GPU, no training, nothing to maintain.'],
    fineTune: false,
    next: ['Write a system prompt that states the task, format and tone.', 'Add 3–5 worked examples.', 'Come back here if it is still not enough — the Playground compares a prompt baseline with a tuned model.'],
  },
  'keep-prompting': {
    id: 'keep-prompting',
    title: 'Keep your prompt — no fine-tuning needed',
    costs: [COSTS.tokens],
    fineTune: false,
    next: ['Keep a small set of test inputs and re-check them when you change the model or prompt.'],
  },
  retrieval: {
    id: 'retrieval',
    title: 'Use retrieval (RAG) first',
    costs: [COSTS.retrievalInfra, 'Fine-tuning does not reliably teach facts; a small model will still invent them.'],
    fineTune: false,
    next: ['Index your documents and put the relevant passages into the prompt.', 'If answers then have the right facts but the wrong style or format, fine-tune for that.'],
  },
  'few-shot': {
    id: 'few-shot',
    title: 'Use few-shot prompting for now',
    costs: [COSTS.tokens, 'Collecting more examples as you go costs little and opens the fine-tuning path later.'],
    fineTune: false,
    next: ['Put your best examples into the prompt.', `Log good answers; at ${ENOUGH_EXAMPLES}+ examples, fine-tune here.`],
  },
  'fine-tune': {
    id: 'fine-tune',
    title: 'Fine-tune with LoRA',
    costs: [COSTS.data(`${ENOUGH_EXAMPLES}+`), COSTS.gpu, COSTS.maintenance],
    fineTune: true,
    next: ['Load your dataset on the Data screen.', 'Pick a base model, train, and compare with your prompt baseline in the Playground.'],
  },
  'preference-tune': {
    id: 'preference-tune',
    title: 'Preference-tune with DPO or ORPO',
    costs: [
      `Data work: ${ENOUGH_PAIRS}+ prompts, each with a chosen and a rejected answer, ranked by a person. Ranking two answers is quicker than writing the perfect one.`,
      COSTS.gpu + ' A pair is two sequences, so a batch takes twice the memory of supervised training.',
      COSTS.maintenance,
    ],
    fineTune: true,
    next: [
      'Save a file of prompt / chosen / rejected rows (TRL’s preference layout, or chosen and rejected conversations sharing their start) on the Data screen.',
      'On the Train screen pick the objective: DPO keeps the model close to where it started (β sets how close; 0.1 is usual); ORPO needs no reference pass and also learns the chosen answers, the better choice when the model cannot yet produce them at all.',
      'Watch rewards/accuracies climb on the held-out pairs, then compare answers in the Playground.',
    ],
  },
  'collect-pairs': {
    id: 'collect-pairs',
    title: 'Collect ranked pairs first',
    costs: [COSTS.tokens, 'A little time per prompt: two answers side by side, pick the better one, note it.'],
    fineTune: false,
    next: [
      'Generate two answers to your real prompts (the Playground, or your current setup) and record which one you prefer.',
      'Meanwhile put an example of the preferred way of answering into the prompt.',
      `At ${ENOUGH_PAIRS}+ pairs, preference-tune here with DPO or ORPO.`,
    ],
  },
  'fine-tune-smaller': {
    id: 'fine-tune-smaller',
    title: 'Fine-tune a smaller model on the big model’s answers',
    costs: [COSTS.data(`${ENOUGH_EXAMPLES}+`) + ' Outputs of the large model count, where its licence allows.', COSTS.gpu, COSTS.maintenance],
    fineTune: true,
    next: ['Export prompts and the large model’s best answers as a dataset.', 'Train a LoRA on a small base model here and compare both in the Playground.'],
  },
  'collect-data': {
    id: 'collect-data',
    title: 'Collect data first, then fine-tune a smaller model',
    costs: ['Logging the large model’s inputs and outputs for a while.', COSTS.maintenance],
    fineTune: false,
    next: [`Keep using the large model and log its good answers until you have ${ENOUGH_EXAMPLES}+.`, 'Then come back and fine-tune a small model on them.'],
  },
};

function pick(id: RecommendationId, why: string[]): Recommendation {
  return { ...RECOMMENDATIONS[id], why };
}

/** The recommendation for a complete set of answers; throws if a question is still open. */
export function decide(a: Answers): Recommendation {
  const open = nextQuestion(a);
  if (open) throw new Error(`decide: question "${open.key}" is not answered yet`);
  switch (a.problem) {
    case 'knowledge':
      return pick('retrieval', [
        a.knowledge === 'changing'
          ? 'Knowledge that changes would be stale in the weights the day after training; retrieval always reads the current version.'
          : 'Missing facts are best put into the prompt from your documents; fine-tuning teaches behaviour, not reliable recall.',
      ]);
    case 'cost': {
      if (a.prompting === 'not-yet' || a.prompting === 'not-enough') {
        // No working large-model setup to distil from yet: fix the prompt first.
        if (a.data !== 'enough') return pick('prompt', ['There is no working setup to copy yet: make the large model do the task with a good prompt first.']);
      }
      if (a.data === 'enough')
        return pick('fine-tune-smaller', ['A small model fine-tuned on a few hundred examples of one task often matches a large general model on that task, at a fraction of the cost and latency.', `You have ${ENOUGH_EXAMPLES}+ examples to learn from.`]);
      return pick('collect-data', [`A smaller model needs ${ENOUGH_EXAMPLES}+ examples of the task to learn it; you do not have them yet.`, 'The large model already works, so its answers can become that dataset.']);
    }
    case 'style':
    case 'behavior': {
      const what = a.problem === 'style' ? 'style and format' : 'a narrow task';
      if (a.prompting === 'not-yet') return pick('prompt', [`For ${what}, a clear prompt with a few examples is the cheapest thing to try, and often enough.`]);
      if (a.prompting === 'works') return pick('keep-prompting', ['Prompting already solves it; fine-tuning would add data work and maintenance for no gain.']);
      if (a.data === 'enough') return pick('fine-tune', [`Fine-tuning is good at ${what}: consistent behaviour learned from examples.`, 'Prompting was not enough.', `You have ${ENOUGH_EXAMPLES}+ examples.`]);
      return pick('few-shot', [`Fine-tuning on fewer than ${ENOUGH_EXAMPLES} examples rarely teaches a model anything reliable.`, 'Your examples do more good inside the prompt for now.']);
    }
    case 'preference': {
      if (a.prompting === 'not-yet') return pick('prompt', ['Describing the answers you prefer (and showing one) in the prompt is the cheapest thing to try, and often enough.']);
      if (a.prompting === 'works') return pick('keep-prompting', ['Prompting already gives the answers you prefer; training would add data work and maintenance for no gain.']);
      if (a.pairs === 'enough')
        return pick('preference-tune', [
          'The model can answer, but not the way you prefer, and you can say which of two answers is better: that is what preference tuning (DPO, ORPO) learns from.',
          'Prompting was not enough.',
          `You have ${ENOUGH_PAIRS}+ ranked pairs.`,
        ]);
      return pick('collect-pairs', [`Preference tuning on fewer than ${ENOUGH_PAIRS} pairs rarely generalises beyond them.`, 'Ranking answers you already get is a cheap way to build that set.']);
    }
    default:
      throw new Error('decide: no problem chosen');
  }
}

/** Every complete answer set (for tests and for the "show all outcomes" list). */
export function allCompleteAnswers(): Answers[] {
  const out: Answers[] = [];
  const walk = (a: Answers) => {
    const q = nextQuestion(a);
    if (!q) return void out.push(a);
    for (const c of q.choices) walk({ ...a, [q.key]: c.value });
  };
  walk({});
  return out;
}
