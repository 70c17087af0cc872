import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { describeRepositoryContract } from './contract.js';

describeRepositoryContract('in memory', async (clock) => ({ repo: createMemoryRepository({ clock }) }));
