import type { ConfChange, Config } from "./types.js";

/** The configuration after `change`, or a sentence saying why the change is not allowed. */
export function applyConfChange(config: Config, change: ConfChange): Config | string {
  const { node } = change;
  const isVoter = config.voters.includes(node);
  const isLearner = config.learners.includes(node);
  switch (change.type) {
    case "addLearner":
      if (isVoter) return `node ${node} is already a voter`;
      if (isLearner) return `node ${node} is already a learner`;
      return { voters: config.voters, learners: [...config.learners, node] };
    case "addVoter":
      if (isVoter) return `node ${node} is already a voter`;
      return { voters: [...config.voters, node], learners: config.learners.filter((l) => l !== node) };
    case "removeNode":
      if (!isVoter && !isLearner) return `node ${node} is not a member`;
      if (isVoter && config.voters.length === 1) return "cannot remove the last voter";
      return {
        voters: config.voters.filter((v) => v !== node),
        learners: config.learners.filter((l) => l !== node),
      };
  }
}
